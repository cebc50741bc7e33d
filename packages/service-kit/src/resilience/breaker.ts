/**
 * Circuit breakers for outbound calls: a failing dependency is cut off fast instead of piling up
 * waiting calls, and its state is exported as a metric.
 */
import CircuitBreaker from 'opossum';
import type { ServiceMetrics } from '../observability/metrics';

export interface BreakerOptions {
  timeoutMs?: number;
  errorThresholdPercentage?: number;
  resetTimeoutMs?: number;
  volumeThreshold?: number;
  /** Errors for which this returns true do not count against the circuit (e.g. a 4xx answer). */
  isClientError?: (err: unknown) => boolean;
}

/**
 * Wraps an outbound call (schema registry, partner webhook...) in an opossum circuit breaker whose
 * state is exported as omnimall_circuit_breaker_state{breaker=name}.
 */
export function createBreaker<A extends unknown[], R>(
  name: string,
  fn: (...args: A) => Promise<R>,
  metrics: ServiceMetrics,
  opts: BreakerOptions = {},
): CircuitBreaker<A, R> {
  const breaker = new CircuitBreaker(fn, {
    name,
    timeout: opts.timeoutMs ?? 5000,
    errorThresholdPercentage: opts.errorThresholdPercentage ?? 50,
    resetTimeout: opts.resetTimeoutMs ?? 5000,
    volumeThreshold: opts.volumeThreshold ?? 5,
    errorFilter: opts.isClientError,
  });
  const gauge = metrics.breakerState.labels(name);
  gauge.set(0);
  breaker.on('open', () => gauge.set(2));
  breaker.on('halfOpen', () => gauge.set(1));
  breaker.on('close', () => gauge.set(0));
  return breaker;
}
