/**
 * The one pino root logger. Components take a child (`logger.child({ component })`).
 * Human-readable (pino-pretty) when stderr is a TTY, JSON otherwise. Secrets are
 * redacted wherever they appear in logged objects, and so are the
 * credentials of URLs anywhere in a line. Never log per event: count
 * on a timer instead.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { redactUrlCredentials } from '../errors.js';

export type { Logger } from 'pino';

/** Paths redacted in every log line (credentials of sinks and clients). */
export const REDACT_PATHS = [
  'password',
  'token',
  '*.token',
  '*.*.token',
  '*.password',
  '*.*.password',
  'apiKey',
  '*.apiKey',
  '*.*.apiKey',
  'api_key',
  '*.api_key',
  '*.*.api_key',
  'sasl.password',
  '*.sasl.password',
  '*.*.sasl.password',
  'auth.password',
  '*.auth.password',
  '*.auth.apiKey',
  '*.*.auth.password',
  '*.*.auth.apiKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'key',
  'tls.key',
  '*.tls.key',
  '*.*.tls.key',
  'passphrase',
  '*.passphrase',
  '*.tls.passphrase',
  '*.*.tls.passphrase',
];

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Force pretty or JSON output; default: pretty when stderr is a TTY. */
  pretty?: boolean;
  /** Destination file descriptor (default 2: logs never mix with NDJSON on stdout). */
  fd?: number;
}

let root: Logger | undefined;

/** Create (or replace) the root logger. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const fd = opts.fd ?? 2;
  const pretty = opts.pretty ?? (fd === 2 ? process.stderr.isTTY === true : false);
  const level = opts.level ?? ((process.env.EBPF_SENSOR_LOG_LEVEL as LevelWithSilent | undefined) || 'info');
  const base = {
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    level,
    base: { pid: process.pid },
    // Credentials inside URLs (http://user:password@host) can sit in any string: a message, an error, a field.
    hooks: { streamWrite: redactUrlCredentials },
  };
  if (pretty) {
    root = pino({
      ...base,
      transport: { target: 'pino-pretty', options: { destination: fd, colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  } else {
    root = pino(base, pino.destination({ fd, sync: true }));
  }
  return root;
}

/** The root logger (created with defaults on first use). */
export function rootLogger(): Logger {
  return root ?? createLogger();
}

/** A child logger for one component. */
export function componentLogger(component: string): Logger {
  return rootLogger().child({ component });
}
