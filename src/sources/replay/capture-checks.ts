/**
 * Checks of what a capture holds: is the header one this sensor reads (its
 * schema, schemas/capture.schema.json, and no path that could reach an
 * object's prototype), and is a built record usable as a canonical event
 * (the fields downstream stages rely on; the full event schema when
 * handling one failed). Take parsed values; give why they are not usable.
 */
import { EVENT_KINDS, type SensorEvent } from '../../model/event.js';
import { lazyValidator } from '../../model/schemas.js';
import { unsafePath, type CaptureHeader } from './capture-format.js';

const KINDS: ReadonlySet<string> = new Set(EVENT_KINDS);

const validateHeader = lazyValidator('capture.schema.json', { allErrors: false }, 'header');

/** Why a parsed header (of a supported version) is invalid, or undefined. */
export function headerProblem(h: unknown): string | undefined {
  const v = validateHeader();
  if (!v(h)) {
    const e = v.errors?.[0];
    return `the header is invalid: ${e?.instancePath || '(root)'} ${e?.message ?? ''}`.trim();
  }
  const enc = (h as CaptureHeader).encoding;
  const unsafe = [...enc.context, ...enc.shape].find(unsafePath);
  if (unsafe !== undefined) return `the header is invalid: /encoding names the path ${JSON.stringify(unsafe)}, which is not allowed`;
  return undefined;
}

const validateEvent = lazyValidator('event.schema.json', { strict: false, allErrors: false }, 'SensorEvent');
/**
 * Which field of `ev` has the wrong type for a canonical event
 * (schemas/event.schema.json), or undefined when it has none. Too slow for
 * every event (tens of µs); replay calls it when handling an event failed,
 * to tell a malformed record (a coded capture error naming the field) from a
 * bug of the sensor.
 */
export function eventTypeProblem(ev: unknown): string | undefined {
  const v = validateEvent();
  if (v(ev)) return undefined;
  const e = v.errors?.[0];
  const field = (e?.instancePath ?? '').split('/').slice(1).join('.') || '(root)';
  return `field ${field} ${e?.message ?? 'is invalid'}`;
}

/** Why a value is not usable as a canonical event (downstream stages rely on these), or undefined. */
export function eventProblem(ev: unknown): string | undefined {
  if (ev === null || typeof ev !== 'object' || Array.isArray(ev)) return 'not a JSON object';
  const e = ev as Partial<SensorEvent>;
  if (e.ebpf === null || typeof e.ebpf !== 'object' || !KINDS.has(e.ebpf.kind)) return 'ebpf.kind is missing or unknown';
  if (e.event === null || typeof e.event !== 'object') return 'event is missing';
  const p = e.process;
  if (p === null || typeof p !== 'object' || typeof p.pid !== 'number' || p.parent === null || typeof p.parent !== 'object') {
    return 'process (with pid and parent) is missing';
  }
  if (p.user === null || typeof p.user !== 'object' || p.group === null || typeof p.group !== 'object') return 'process.user or process.group is missing';
  if (e.user === null || typeof e.user !== 'object' || e.group === null || typeof e.group !== 'object') return 'user or group is missing';
  if (typeof e['@timestamp'] !== 'string') return '@timestamp is missing';
  return undefined;
}
