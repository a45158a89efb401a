/**
 * pipeline/replay-time: the times of a replay window.
 *
 * Takes: times as given on the command line (--since/--until) or as
 * recorded in @timestamp. Gives: one canonical form (ISO-8601, UTC, nine
 * fractional digits) in which comparing strings compares times.
 */
import { SensorError } from '../errors.js';

/**
 * Canonical form of a time given on the command line: ISO-8601 in UTC with
 * nine fractional digits, as @timestamp is written, so comparing strings
 * compares times. Accepts a date, a date and time, fractions up to ns and a
 * zone (Z or ±hh:mm). Undefined when `s` is not such a time.
 */
export function canonicalTime(s: string): string | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s.trim());
  if (!m) return undefined;
  const zone = m[6] === undefined || m[6] === 'Z' ? 'Z' : m[6].length === 5 ? `${m[6].slice(0, 3)}:${m[6].slice(3)}` : m[6];
  const ms = Date.parse(`${m[1]}T${m[2] ?? '00'}:${m[3] ?? '00'}:${m[4] ?? '00'}${zone}`);
  if (!Number.isFinite(ms)) return undefined;
  const iso = new Date(ms).toISOString(); // 2026-11-23T16:12:00.000Z
  return `${iso.slice(0, 19)}.${(m[5] ?? '').padEnd(9, '0')}Z`;
}

/** A --since/--until option in canonical form; a usage error naming the option when it is not a time. */
export function timeOption(opt: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const t = canonicalTime(v);
  if (t === undefined) throw new SensorError('ESENSOR_USAGE', `--${opt} "${v}" is not an ISO-8601 time (e.g. 2026-11-23T16:00:00Z)`);
  return t;
}

/** An event's timestamp in canonical form (events written by the sensor already are). */
export function canonicalTs(ts: string | undefined): string | undefined {
  if (ts === undefined) return undefined;
  return ts.length === 30 && ts.charCodeAt(29) === 90 /* Z */ ? ts : (canonicalTime(ts) ?? ts);
}
