/**
 * sinks/hec: the HEC event envelope, a pure function of the event's document.
 *
 * Takes: one event's document (the ECS JSON line, or the CEF line) and its
 * ISO-8601 nanosecond timestamp. Gives: the JSON object Splunk's
 * /services/collector/event takes, as text:
 * `{"time":<s.µs>,"host":…,"source":…,"sourcetype":…,"index":…,"event":<doc>}`.
 * The ECS document goes in as it was serialized (no parse, no re-stringify);
 * a CEF line becomes a JSON string. Everything but `time` and `event` is the
 * same for every event of a kind (alert / telemetry) and is written once.
 */

/** Per-sink envelope fields; `index` unset = the token's default index. */
export interface HecMeta {
  host: string;
  source: string;
  sourcetype: string;
  index?: string;
}

/** The constant middle of an envelope: `,"host":…,"index":…,"event":` (built once per kind). */
export function envelopeMiddle(m: HecMeta): string {
  let s = `,"host":${JSON.stringify(m.host)},"source":${JSON.stringify(m.source)},"sourcetype":${JSON.stringify(m.sourcetype)}`;
  if (m.index !== undefined) s += `,"index":${JSON.stringify(m.index)}`;
  return `${s},"event":`;
}

/**
 * Seconds since the epoch with microsecond digits, as HEC's `time` wants it
 * ("1765090000.123456"), from "YYYY-MM-DDTHH:MM:SS[.fffffffff]Z". Digits
 * past the microsecond are cut: Splunk keeps microseconds in _time, and a
 * double (what HEC receivers parse `time` into) holds no more at this scale.
 */
export function hecTime(iso: string): string {
  const dot = iso.indexOf('.', 19);
  const whole = Date.parse(`${iso.slice(0, 19)}Z`);
  if (Number.isNaN(whole)) return (Date.now() / 1000).toFixed(6);
  const sec = Math.floor(whole / 1000);
  let frac = dot < 0 ? '' : iso.slice(dot + 1, iso.length - 1);
  frac = (frac + '000000').slice(0, 6);
  return `${sec}.${frac}`;
}

/** One envelope: `{"time":…` + middle + the document (JSON text, or a CEF line that becomes a JSON string). */
export function hecEnvelope(timestamp: string, middle: string, doc: string, docIsJson: boolean): string {
  return `{"time":${hecTime(timestamp)}${middle}${docIsJson ? doc : JSON.stringify(doc)}}`;
}
