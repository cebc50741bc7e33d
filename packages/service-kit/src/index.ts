/**
 * The package barrel: every name a service imports from '@omnimall/service-kit'. Domain code imports
 * '@omnimall/service-kit/errors' instead (no I/O libraries behind it); tests add '@omnimall/service-kit/testing'.
 */
export * from './service/config';
export * from './service/env';
export * from './observability/logger';
export * from './concurrency/map-limit';
export * from './observability/metrics';
export * from './errors';
export * from './resilience/breaker';
export * from './http/api';
export * from './http/app';
export { asServiceUnavailable, unavailableDependency, withinDeadline } from './http/dependencies';
export * from './events/envelope';
export * from './events/schema-registry';
export * from './kafka/topics';
export * from './kafka/publisher';
export * from './events/outbox';
export * from './events/exceptions';
export * from './jobs';
export * from './mongo/document-lock';
export * from './mongo/effect-once';
export * from './mongo/write-batcher';
export * from './mongo/projections';
export * from './events/consumer';
export * from './service/runtime';
export * from './service/process';
export * from './service/define-service';
export * from './service/periodic';
export * from './auth/tokens';
export * from './auth/middleware';
export * from './auth/trust';
export * from './auth/trust-reader';
export * from './auth/service-auth';
export * from './http/channel';
export * from './http/idempotency';
export * from './http/webhook-post';
