/**
 * kafkajs logs → pino: a kafkajs `logCreator` writing through the sink's pino
 * child, with kafkajs' levels mapped to pino's, repeated lines folded (a
 * broker outage makes kafkajs log every reconnect attempt) and secrets
 * scrubbed from every value (pino's redaction covers keys; this also covers a
 * password quoted inside a message).
 */
import { logLevel as KafkaLogLevel, type LogEntry, type logCreator } from 'kafkajs';
import type { Logger } from '../../telemetry/logger.js';

/** The kafkajs level that lets through what `pinoLevel` would print. */
export function kafkaLogLevel(pinoLevel: string): KafkaLogLevel {
  switch (pinoLevel) {
    case 'trace':
    case 'debug':
      return KafkaLogLevel.DEBUG;
    case 'info':
      return KafkaLogLevel.INFO;
    case 'warn':
      return KafkaLogLevel.WARN;
    case 'silent':
      return KafkaLogLevel.NOTHING;
    default:
      return KafkaLogLevel.ERROR;
  }
}

/**
 * kafkajs messages we expect and explain elsewhere, logged at debug: the
 * sink bounds the idempotent producer's retries on purpose (delivery retries
 * the batch; docs/delivery.md).
 */
const EXPECTED = [/^Limiting retries for the idempotent producer/];

export interface KafkaLogOptions {
  /** Values never to print (passwords): replaced by [redacted] wherever they occur. */
  secrets?: readonly string[];
  /** Identical lines within this window are folded into a count (default 10 s). */
  foldMs?: number;
  now?: () => number;
}

/** Replace every occurrence of a secret in strings nested in `v`. */
export function scrubSecrets(v: unknown, secrets: readonly string[], depth = 0): unknown {
  if (!secrets.length) return v;
  if (typeof v === 'string') {
    let s = v;
    for (const sec of secrets) if (sec && s.includes(sec)) s = s.split(sec).join('[redacted]');
    return s;
  }
  if (typeof v !== 'object' || v === null || depth > 6) return v;
  if (Array.isArray(v)) return v.map((x) => scrubSecrets(x, secrets, depth + 1));
  if (v instanceof Error) return { type: v.name, message: scrubSecrets(v.message, secrets), stack: scrubSecrets(v.stack, secrets) };
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = scrubSecrets(x, secrets, depth + 1);
  return out;
}

/** A kafkajs logCreator that writes to `log` (a pino child). */
export function pinoLogCreator(log: Logger, opts: KafkaLogOptions = {}): logCreator {
  const secrets = (opts.secrets ?? []).filter((s) => s.length > 0);
  const foldMs = opts.foldMs ?? 10_000;
  const now = opts.now ?? Date.now;
  const seen = new Map<string, { at: number; folded: number }>();
  return () =>
    ({ namespace, level, log: entry }: LogEntry) => {
      const { message, timestamp: _ts, logger: _lg, ...extra } = entry;
      let lvl: 'error' | 'warn' | 'info' | 'debug' =
        level === KafkaLogLevel.ERROR ? 'error' : level === KafkaLogLevel.WARN ? 'warn' : level === KafkaLogLevel.INFO ? 'info' : 'debug';
      if (EXPECTED.some((re) => re.test(message))) lvl = 'debug';
      if (!log.isLevelEnabled(lvl)) return;
      const key = `${namespace}\0${message}`;
      const t = now();
      const prev = seen.get(key);
      if (prev && t - prev.at < foldMs) {
        prev.folded++;
        return;
      }
      if (seen.size > 1000) seen.clear();
      seen.set(key, { at: t, folded: 0 });
      const fields: Record<string, unknown> = { kafkajs: namespace, ...(scrubSecrets(extra, secrets) as Record<string, unknown>) };
      if (prev?.folded) fields.repeated = prev.folded;
      log[lvl](fields, scrubSecrets(message, secrets) as string);
    };
}
