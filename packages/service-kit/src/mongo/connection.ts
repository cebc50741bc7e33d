/**
 * The database connection of a service: its own database on the configured server, opened before
 * anything else starts (a server not found within 5 s fails the start), at most 20 sockets.
 *
 * Mongoose is told not to capture a stack trace at every query: it would only use it to name the
 * first call site if the same Query object were executed twice, which the kit and the services never
 * do, and the capture is a measurable share of a service's CPU under load (see the kit's README).
 */
import mongoose, { type Connection } from 'mongoose';

export async function connectDatabase(url: string, dbName: string): Promise<Connection> {
  mongoose.set('skipOriginalStackTraces', true);
  return mongoose.createConnection(url, { dbName, serverSelectionTimeoutMS: 5000, maxPoolSize: 20 }).asPromise();
}
