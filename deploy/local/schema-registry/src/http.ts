/**
 * The REST surface: the Confluent endpoints @kafkajs/confluent-schema-registry uses, plus the common
 * read/config/delete ones. Every answer, errors included, is Confluent-shaped JSON. With users
 * configured, every route but /healthz needs basic auth, and writes need the `write` role (auth.ts).
 */
import express, { ErrorRequestHandler, Request, Response, Router } from 'express';
import { KafkaJSError } from 'kafkajs';
import { basicAuth, type RegistryUsers } from './auth';
import { ErrorCode, RegistryError, schemaNotFound } from './errors';
import { parseVersion, Registry } from './registry';

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

function reply(res: Response, body: unknown, status = 200): void {
  res
    .status(status)
    .set('Content-Type', CONTENT_TYPE)
    .end(Buffer.from(JSON.stringify(body)));
}

function sendError(res: Response, status: number, errorCode: number, message: string): void {
  reply(res, { error_code: errorCode, message }, status);
}

/** The parsed JSON body; must be an object (the registry never takes anything else). */
function body(req: Request): Record<string, unknown> {
  const b: unknown = req.body;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) {
    throw new RegistryError(422, 422, 'Request body must be a JSON object');
  }
  return b as Record<string, unknown>;
}

const flag = (req: Request, name: string): boolean => req.query[name] === 'true';

function schemaId(raw: string): number {
  const id = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(id)) throw schemaNotFound();
  return id;
}

function routes(registry: Registry): Router {
  const r = Router();

  r.get('/', (_req, res) => reply(res, {}));
  r.get('/healthz', (_req, res) => reply(res, { status: 'ok' }));

  r.get('/schemas/types', (_req, res) => reply(res, ['AVRO']));
  r.get('/schemas/ids/:id', (req, res) => reply(res, { schema: registry.schemaById(schemaId(req.params.id)) }));
  r.get('/schemas/ids/:id/versions', (req, res) => reply(res, registry.subjectsOfId(schemaId(req.params.id))));

  r.get('/subjects', (req, res) => reply(res, registry.subjects(flag(req, 'deleted'))));
  r.get('/subjects/:subject/versions', (req, res) => reply(res, registry.versions(req.params.subject)));
  r.get('/subjects/:subject/versions/:version', (req, res) => {
    const { subject, version, id, schema } = registry.version(req.params.subject, parseVersion(req.params.version));
    reply(res, { subject, id, version, schema });
  });
  r.get('/subjects/:subject/versions/:version/schema', (req, res) => {
    const { schema } = registry.version(req.params.subject, parseVersion(req.params.version));
    reply(res, JSON.parse(schema));
  });
  r.post('/subjects/:subject/versions', async (req, res) => {
    const { schema, schemaType } = body(req);
    reply(res, { id: await registry.register(req.params.subject, schema, schemaType) });
  });
  r.post('/subjects/:subject', (req, res) => {
    const { schema, schemaType } = body(req);
    const found = registry.lookup(req.params.subject, schema, schemaType);
    reply(res, { subject: found.subject, id: found.id, version: found.version, schema: found.schema });
  });
  r.delete('/subjects/:subject', async (req, res) => {
    refusePermanent(req);
    reply(res, await registry.deleteSubject(req.params.subject));
  });
  r.delete('/subjects/:subject/versions/:version', async (req, res) => {
    refusePermanent(req);
    reply(res, await registry.deleteVersion(req.params.subject, parseVersion(req.params.version)));
  });

  const compatibility = (req: Request, res: Response, subject: string, version: string): void => {
    const { schema, schemaType } = body(req);
    const reasons = registry.checkCompatibility(subject, parseVersion(version), schema, schemaType);
    const isCompatible = reasons.length === 0;
    reply(res, flag(req, 'verbose') ? { is_compatible: isCompatible, messages: reasons } : { is_compatible: isCompatible });
  };
  r.post('/compatibility/subjects/:subject/versions/:version', (req, res) =>
    compatibility(req, res, req.params.subject, req.params.version),
  );
  r.post('/compatibility/subjects/:subject/versions', (req, res) => compatibility(req, res, req.params.subject, 'latest'));

  r.get('/config', (_req, res) => reply(res, { compatibilityLevel: registry.globalLevel() }));
  r.put('/config', async (req, res) => {
    reply(res, { compatibility: await registry.setLevel(null, body(req).compatibility) });
  });
  r.get('/config/:subject', (req, res) => {
    reply(res, { compatibilityLevel: registry.subjectLevel(req.params.subject, flag(req, 'defaultToGlobal')) });
  });
  r.put('/config/:subject', async (req, res) => {
    reply(res, { compatibility: await registry.setLevel(req.params.subject, body(req).compatibility) });
  });
  r.delete('/config/:subject', async (req, res) => {
    reply(res, { compatibilityLevel: await registry.deleteSubjectLevel(req.params.subject) });
  });

  return r;
}

function refusePermanent(req: Request): void {
  if (flag(req, 'permanent')) {
    throw new RegistryError(422, 422, 'Permanent delete is not supported by this local registry (soft delete only)');
  }
}

const errors: ErrorRequestHandler = (err: unknown, _req, res, next) => {
  if (res.headersSent) return next(err);
  if (err instanceof RegistryError) return sendError(res, err.status, err.errorCode, err.message);
  const e = err as { type?: string; status?: number; message?: string };
  if (e.type === 'entity.parse.failed') return sendError(res, 400, 400, `Malformed JSON request body: ${e.message}`);
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return sendError(res, e.status, e.status, e.message ?? 'Bad request');
  }
  console.error('request failed:', err);
  if (err instanceof KafkaJSError) {
    return sendError(res, 500, ErrorCode.STORE_ERROR, `Error in the backend data store: ${err.message}`);
  }
  sendError(res, 500, 500, `Internal error: ${e.message ?? String(err)}`);
};

export function createApp(registry: Registry, users: RegistryUsers = new Map()): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(basicAuth(users));
  // Clients send application/vnd.schemaregistry.v1+json, application/json, or nothing: parse any body.
  app.use(express.json({ type: () => true, limit: '16mb' }));
  app.use(routes(registry));
  app.use((_req, res) => sendError(res, 404, 404, 'HTTP 404 Not Found'));
  app.use(errors);
  return app;
}
