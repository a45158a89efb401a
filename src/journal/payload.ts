/**
 * The payload of a journal record (format versions 2 to 4): the classified
 * event, then sections, each a LF, a one-letter tag and its text:
 *
 *   {"event":…,"verdict":…}\nM[flags,"id","entity",pid,"time","severity"]\nE{…ECS…}\nCCEF:0|…
 *   R{"event":{…,"process":N,…},"verdict":…}\nM[…]\nE{…ECS…}…          (versions 3 and 4, compact)
 *
 * The event is either its canonical JSON (`{`) or, when the record holds its
 * ECS line and the line holds its process exactly, the compact form (`R`):
 * the event without its process (version 4: nor the other members the line
 * holds exactly, head-elision.ts), which is read back from the `E` line
 * (compact-record.ts) — so the process is serialized once per event.
 *
 * - `M`: what sinks route by (EventRoute: flags 1 suspicious, 2 loss; the
 *   event id; the process entity id and pid; the event's @timestamp and the
 *   top rule severity, "" when none), so choosing a topic, an index, a key, a
 *   filter or a syslog/HEC header needs no parse of the event (records
 *   journaled before the last two were kept have four members: their sinks
 *   read the event for them);
 * - `E`, `C`: the event's line in ECS JSON and in CEF, written once when the
 *   event is journaled, shipped as they are by every sink of that format.
 *
 * JSON text holds no raw LF, and a line holding one is not stored (its sink
 * formats it again), so the sections split on LF. Version 1 payloads are the
 * JSON alone and read the same way. Readers that ship (delivery) copy the
 * payload and parse the event only when something asks for it.
 */
import { routeOf, topSeverity, type ClassifiedEvent, type EventRoute, type OutputFormat, type Severity, type ShippedEvent } from '../model/event.js';
import type { JournalRecord } from './journal-reader.js';
import { COMPACT_TAG, rebuildEvent } from './compact-record.js';

const TAGS: Record<OutputFormat, number> = { ecs: 0x45 /* E */, cef: 0x43 /* C */ };
const META = 0x4d; /* M */
const SEVERITIES: ReadonlySet<string> = new Set<Severity>(['low', 'medium', 'high', 'critical']);
const LF = 0x0a;

/**
 * A line given as the parts it is made of (normalize/ecs/ecs-serializer.ts
 * `ecsParts`): written one after the other, never joined into one string.
 */
export interface LineParts {
  readonly parts: readonly string[];
  readonly count: number;
  /** True: the writer knows the parts hold no raw LF and no U+FFFD (else they are scanned). */
  readonly plain: boolean;
}

/** One line of a section: its text, or its parts. */
export type SectionLine = string | LineParts;

/**
 * What is journaled after one event's JSON: its routing section and its lines
 * (format → text). A sections function (pipeline/outputs.ts journalSections)
 * may hand out the same object for every event: it is written at once.
 */
export interface EventSections {
  /** `\nM[…]` (routeSection) */
  route: string;
  lines: ReadonlyArray<readonly [OutputFormat, SectionLine]>;
}

/** What JSON.stringify escapes in a string (lone surrogates included: any surrogate takes the slow way). */
const JSON_ESCAPES = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON.stringify(v), byte for byte, with a string that needs no escape (most) written between quotes. */
function json(v: unknown): string {
  return typeof v === 'string' && !JSON_ESCAPES.test(v) ? `"${v}"` : (JSON.stringify(v) as string);
}

/** The routing section of one event, LF and tag included. */
export function routeSection(ce: ClassifiedEvent): string {
  const ev = ce.event;
  const flags = (ce.verdict.classification === 'suspicious' ? 1 : 0) | (ev.ebpf.kind === 'loss' ? 2 : 0);
  const sev = topSeverity(ce.verdict) ?? '';
  return `\nM[${flags},${json(ev.event.id)},${json(ev.process.entity_id ?? '')},${Number.isFinite(ev.process.pid) ? ev.process.pid : 0},${json(ev['@timestamp'])},"${sev}"]`;
}

/** Whether the line holds neither a raw LF nor U+FFFD (for parts that do not say so: scanned). */
export function plainLine(line: SectionLine): boolean {
  if (typeof line === 'string') return !line.includes('\n') && !line.includes('\ufffd');
  if (line.plain) return true;
  for (let i = 0; i < line.count; i++) {
    const part = line.parts[i]!;
    if (part.includes('\n') || part.includes('\ufffd')) return false;
  }
  return true;
}

/** Whether the line holds a raw LF (parts that are plain hold none). */
function hasLf(line: SectionLine): boolean {
  if (typeof line === 'string') return line.includes('\n');
  if (line.plain) return false;
  for (let i = 0; i < line.count; i++) if (line.parts[i]!.includes('\n')) return true;
  return false;
}

/** The line's text (tests, tools). */
export function lineText(line: SectionLine): string {
  if (typeof line === 'string') return line;
  let s = '';
  for (let i = 0; i < line.count; i++) s += line.parts[i]!;
  return s;
}

/** UTF-16 units of the line. */
function lineLength(line: SectionLine): number {
  if (typeof line === 'string') return line.length;
  let n = 0;
  for (let i = 0; i < line.count; i++) n += line.parts[i]!.length;
  return n;
}

/**
 * Write the sections into `buf` at `off` (the caller made room: 3 bytes per
 * UTF-16 unit of every text, plus 2 per line); returns the end. Each line is
 * written straight into the buffer (no concatenation, no copy of the text;
 * a line in parts one write per part, so it is never joined and flattened
 * whole); a line holding a raw LF cannot be split out again and is left out
 * (its sink formats it at delivery instead).
 */
export function writeSections(buf: Buffer, off: number, s: EventSections): number {
  let p = off + buf.write(s.route, off, 'utf8');
  for (const [format, line] of s.lines) {
    const start = p;
    buf[p++] = LF;
    buf[p++] = TAGS[format];
    if (typeof line === 'string') p += buf.write(line, p, 'utf8');
    else for (let i = 0; i < line.count; i++) p += buf.write(line.parts[i]!, p, 'utf8');
    // A line holding a LF is left out (the write flattened its text: the scan is cheap; a plain line
    // has none by construction and is not scanned).
    if (hasLf(line)) p = start;
  }
  return p;
}

/** Room writeSections may need. */
export function sectionsBound(s: EventSections): number {
  let n = s.route.length * 3;
  for (const [, line] of s.lines) n += 2 + lineLength(line) * 3;
  return n;
}

/** The sections as text (tests, tools): what writeSections writes. */
export function encodeSections(ce: ClassifiedEvent, lines: ReadonlyArray<readonly [OutputFormat, SectionLine]>): string {
  let s = routeSection(ce);
  for (const [format, line] of lines) {
    if (hasLf(line)) continue;
    s += `\n${String.fromCharCode(TAGS[format])}${lineText(line)}`;
  }
  return s;
}

/** Parse the JSON part of a payload; throws when it is not a classified event. */
export function parseEvent(text: string): ClassifiedEvent {
  return checked(JSON.parse(text) as ClassifiedEvent);
}

function checked(v: ClassifiedEvent): ClassifiedEvent {
  if (typeof v !== 'object' || v === null || typeof v.event !== 'object' || typeof v.verdict !== 'object') {
    throw new Error('not a classified event');
  }
  return v;
}

/** Where the `tag` section's text lies in buf[start, end), or undefined. */
function sectionAt(buf: Buffer, start: number, end: number, tag: number): [number, number] | undefined {
  let at = buf.indexOf(LF, start);
  while (at >= 0 && at < end) {
    let next = buf.indexOf(LF, at + 1);
    if (next < 0 || next > end) next = end;
    if (buf[at + 1] === tag) return [at + 2, next];
    at = next === end ? -1 : next;
  }
  return undefined;
}

/**
 * The classified event of the payload in buf[start, end) (any version, either
 * form) and the bytes it counts for (its JSON; a compact one with its ECS line).
 * Throws when it is not a readable event.
 */
export function readEvent(buf: Buffer, start: number, end: number): { event: ClassifiedEvent; bytes: number } {
  let jsonEnd = buf.indexOf(LF, start);
  if (jsonEnd < 0 || jsonEnd > end) jsonEnd = end;
  if (buf[start] !== COMPACT_TAG) return { event: parseEvent(buf.toString('utf8', start, jsonEnd)), bytes: jsonEnd - start };
  const e = sectionAt(buf, jsonEnd, end, TAGS.ecs);
  if (!e) throw new Error('compact journal record without its ECS line');
  const event = checked(rebuildEvent(buf.toString('utf8', start + 1, jsonEnd), buf.toString('utf8', e[0], e[1])));
  return { event, bytes: jsonEnd - start + e[1] - e[0] };
}

/**
 * A record read for shipping: the payload is a view of the reader's chunk
 * (which the reader then leaves to it); the event is parsed on first use;
 * the routing facts and lines come from the sections, the routing facts
 * parsed on first use too (a file sink never reads them).
 */
export class ShippedRecord implements JournalRecord {
  /** What delivery hands the sink. */
  readonly ship: ShippedEvent;

  private constructor(
    readonly position: number,
    readonly time: number,
    readonly bytes: number,
    ship: LazyEvent,
  ) {
    this.ship = ship;
  }

  /**
   * From a payload that stays as it is; undefined when it has no routing
   * section (a version 1 record, or one journaled without sections): read it
   * whole. Throws when a compact record lacks its ECS line.
   */
  static from(position: number, time: number, payload: Buffer): ShippedRecord | undefined {
    const jsonEnd = payload.indexOf(LF);
    if (jsonEnd < 0 || payload[jsonEnd + 1] !== META) return undefined;
    // bytes: the event's JSON, as for a record read whole (batch limits keep their meaning).
    let bytes = jsonEnd;
    if (payload[0] === COMPACT_TAG) {
      const e = sectionAt(payload, jsonEnd, payload.length, TAGS.ecs);
      if (!e) throw new Error('compact journal record without its ECS line');
      bytes += e[1] - e[0];
    }
    return new ShippedRecord(position, time, bytes, new LazyEvent(payload, jsonEnd));
  }

  get event(): ClassifiedEvent {
    return (this.ship as LazyEvent).classified();
  }
}

/** The routing section's text `[…]` as EventRoute; undefined when it is not what routeSection writes. */
function parseRoute(text: string): EventRoute | undefined {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (
    !Array.isArray(m) ||
    (m.length !== 4 && m.length !== 6) ||
    typeof m[0] !== 'number' ||
    typeof m[1] !== 'string' ||
    typeof m[2] !== 'string' ||
    typeof m[3] !== 'number' ||
    (m.length === 6 && (typeof m[4] !== 'string' || !(m[5] === '' || SEVERITIES.has(m[5] as string))))
  ) {
    return undefined;
  }
  const route: EventRoute = { suspicious: (m[0] & 1) !== 0, loss: (m[0] & 2) !== 0, id: m[1], entityId: m[2], pid: m[3] };
  if (m.length === 6) {
    route.time = m[4] as string;
    if (m[5] !== '') route.severity = m[5] as Severity;
  }
  return route;
}

/** A ShippedEvent over a payload, parsed only when its event, verdict or route is read. */
class LazyEvent implements ShippedEvent {
  private parsed: ClassifiedEvent | undefined;
  private routed: EventRoute | undefined;

  constructor(
    private readonly payload: Buffer,
    private readonly jsonEnd: number,
  ) {}

  classified(): ClassifiedEvent {
    this.parsed ??= readEvent(this.payload, 0, this.payload.length).event;
    return this.parsed;
  }

  /** The routing facts of the M section (CRC-checked with the record; one a writer got wrong is taken from the event instead). */
  get route(): EventRoute {
    if (this.routed === undefined) {
      const p = this.payload;
      let end = p.indexOf(LF, this.jsonEnd + 1);
      if (end < 0) end = p.length;
      this.routed = parseRoute(p.toString('utf8', this.jsonEnd + 2, end)) ?? routeOf(this.classified());
    }
    return this.routed;
  }

  get event(): ClassifiedEvent['event'] {
    return this.classified().event;
  }

  get verdict(): ClassifiedEvent['verdict'] {
    return this.classified().verdict;
  }

  shipped(format: OutputFormat): Buffer | undefined {
    const tag = TAGS[format];
    const p = this.payload;
    let at = this.jsonEnd;
    while (at >= 0) {
      const next = p.indexOf(LF, at + 1);
      if (p[at + 1] === tag) return p.subarray(at + 2, next < 0 ? p.length : next);
      at = next;
    }
    return undefined;
  }
}
