/**
 * The database connection of a service: its own database on the configured server, opened before
 * anything else starts (a server not found within 5 s, tried again and again, fails the start), at
 * most 20 sockets.
 *
 * Fails fast while the server is down, so a request gets a 503 within a second (see
 * http/dependencies.ts) instead of hanging: an operation that finds no server gives up after
 * SERVER_SELECTION_TIMEOUT_MS (800 ms), and mongoose does not buffer commands while disconnected
 * (buffered commands would wait 10 s and then fail anyway, or run late, after the client gave up).
 * A socket that cannot be opened within 2 s counts as a failure (the driver's default is 30 s).
 * When the server is back, the driver's monitor finds it and the next operation succeeds.
 *
 * Mongoose is told not to capture a stack trace at every query: it would only use it to name the
 * first call site if the same Query object were executed twice, which the kit and the services never
 * do, and the capture is a measurable share of a service's CPU under load (see the kit's README).
 */
import mongoose, { type Connection } from 'mongoose';

/** How long an operation waits for a reachable server before it fails (and the request gets 503). */
export const SERVER_SELECTION_TIMEOUT_MS = 800;
/** How long the start keeps trying to reach the server. */
const START_TIMEOUT_MS = 5000;

export async function connectDatabase(url: string, dbName: string, startTimeoutMs = START_TIMEOUT_MS): Promise<Connection> {
  mongoose.set('skipOriginalStackTraces', true);
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    const conn = mongoose.createConnection(url, {
      dbName,
      maxPoolSize: 20,
      serverSelectionTimeoutMS: SERVER_SELECTION_TIMEOUT_MS,
      connectTimeoutMS: 2000,
      bufferCommands: false,
    });
    try {
      return await conn.asPromise();
    } catch (err) {
      await conn.close().catch(() => undefined);
      // Only "no server found" is worth another try; a refused login or a bad URL fails at once.
      const notFound = /ServerSelectionError$/.test((err as Error).name);
      if (!notFound || Date.now() + SERVER_SELECTION_TIMEOUT_MS > deadline) throw err;
    }
  }
}
