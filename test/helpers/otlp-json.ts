/**
 * Reads what the test collector's file exporter wrote: OTLP JSON, one
 * ExportLogsServiceRequest per line. Gives each log record flattened with its
 * resource attributes, attribute and body values turned back into plain JS.
 */
import { readFileSync } from 'node:fs';

type AnyValue = {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
  bytesValue?: string;
};
type KeyValue = { key: string; value?: AnyValue };

export interface ReceivedRecord {
  resource: Record<string, unknown>;
  attributes: Record<string, unknown>;
  body: unknown;
  timeUnixNano: string;
  severityNumber?: number;
  severityText?: string;
}

/** An OTLP AnyValue as plain JS (ints as numbers). */
export function plain(v: AnyValue | undefined): unknown {
  if (!v) return null;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('arrayValue' in v) return (v.arrayValue?.values ?? []).map(plain);
  if ('kvlistValue' in v) return kv(v.kvlistValue?.values);
  if ('bytesValue' in v) return v.bytesValue;
  return null;
}

function kv(list: KeyValue[] | undefined): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const e of list ?? []) o[e.key] = plain(e.value);
  return o;
}

/** Every record in `file` (none when it does not exist yet). */
export function readRecords(file: string): ReceivedRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: ReceivedRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let req: { resourceLogs?: Array<{ resource?: { attributes?: KeyValue[] }; scopeLogs?: Array<{ logRecords?: Array<Record<string, unknown>> }> }> };
    try {
      req = JSON.parse(line);
    } catch {
      continue; // a line being written
    }
    for (const rl of req.resourceLogs ?? []) {
      const resource = kv(rl.resource?.attributes);
      for (const sl of rl.scopeLogs ?? []) {
        for (const r of sl.logRecords ?? []) {
          const rec: ReceivedRecord = {
            resource,
            attributes: kv(r.attributes as KeyValue[] | undefined),
            body: plain(r.body as AnyValue | undefined),
            timeUnixNano: String(r.timeUnixNano ?? '0'),
          };
          if (typeof r.severityNumber === 'number') rec.severityNumber = r.severityNumber;
          else if (typeof r.severityNumber === 'string') rec.severityNumber = SEVERITY_NAMES[r.severityNumber] ?? Number(r.severityNumber);
          if (typeof r.severityText === 'string') rec.severityText = r.severityText;
          out.push(rec);
        }
      }
    }
  }
  return out;
}

const SEVERITY_NAMES: Record<string, number> = { SEVERITY_NUMBER_INFO: 9, SEVERITY_NUMBER_WARN: 13, SEVERITY_NUMBER_ERROR: 17, SEVERITY_NUMBER_ERROR3: 19, SEVERITY_NUMBER_FATAL: 21 };

/** Microseconds since the epoch of "YYYY-MM-DDTHH:MM:SS.fffffffffZ" as a bigint (digits past the µs cut). */
export function isoMicros(iso: string): bigint {
  const whole = BigInt(Date.parse(`${iso.slice(0, 19)}Z`)) * 1000n;
  const dot = iso.indexOf('.', 19);
  const frac = dot < 0 ? '' : iso.slice(dot + 1, iso.length - 1);
  return whole + BigInt((frac + '000000').slice(0, 6));
}

/** Nanoseconds since the epoch of the same, all nine digits. */
export function isoNanos(iso: string): bigint {
  const whole = BigInt(Date.parse(`${iso.slice(0, 19)}Z`)) * 1_000_000n;
  const dot = iso.indexOf('.', 19);
  const frac = dot < 0 ? '' : iso.slice(dot + 1, iso.length - 1);
  return whole + BigInt((frac + '000000000').slice(0, 9));
}
