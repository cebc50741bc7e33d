/**
 * Logging: JSON lines on stdout tagged with the service, so every service's logs read and parse alike.
 */
import winston from 'winston';

export type Logger = winston.Logger;

/** JSON logs, one line each; child loggers add eventId / correlationId to every line they write. */
export function createLogger(service: string, level = 'info'): Logger {
  return winston.createLogger({
    level,
    defaultMeta: { service },
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    transports: [new winston.transports.Console({ silent: process.env.LOG_SILENT === '1' })],
  });
}
