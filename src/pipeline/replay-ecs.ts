/**
 * pipeline/replay-ecs: ECS lines of replayed events written from plans
 * instead of built events (the replay fast path for `--events all`).
 *
 * Takes: a materialized, enriched event decided normal, and the places of
 * the values that vary between the events sharing its plan. Gives: an
 * `EcsPlan` — the ECS line (normalize/ecs/ecs-serializer.ts `ecsLine`) cut
 * at those values — and `renderPlan`, which writes another event's line from
 * the plan and that event's values, without building the event.
 *
 * A plan holds for the events of one process context, one event template
 * and one class of shapes (shapes that differ only in slot values). A value
 * may be a slot only where the serializer writes it as it is, once, and
 * decides nothing on it (`isVerbatim`: @timestamp, event.id and sequence,
 * the file strings, ebpf facts other than kind, error and the process
 * part); everything else is part of the plan's key. The plan is built by
 * serializing the event with sentinels in its slots and checked by writing
 * the event itself from it: a plan that does not give the serializer's bytes
 * is never used. Replay stays byte-identical (test/unit/replay-ecs.test.ts
 * compares whole replays with and without it).
 */
import type { AgentInfo, ClassifiedEvent, EventRoute, SensorEvent, Verdict } from '../model/event.js';
import { ecsLine } from '../normalize/ecs/ecs-serializer.js';
import { escapeLineBreaks, FILE_STRINGS } from '../normalize/ecs/ecs.js';
import type { HostInfo } from '../model/event.js';
import { splitPath } from '../sources/replay/capture-format.js';

export const NORMAL: Verdict = Object.freeze({ classification: 'normal', matches: [] }) as unknown as Verdict;

const FILE_VERBATIM: ReadonlySet<string> = new Set(FILE_STRINGS.map((k) => `file.${k}`));

/**
 * Endpoint values the serializer writes as they are; the one decision it
 * takes on them (related.ip holds the destination only when it differs from
 * the source) is a plan's `distinct` condition.
 */
const NETWORK_VERBATIM: ReadonlySet<string> = new Set(['network.iana_number', 'source.ip', 'source.port', 'source.address', 'destination.ip', 'destination.port', 'destination.address']);

/** The serializer writes the value at `path` as it is and decides nothing on it (but `distinct`, see EcsPlan). */
export function isVerbatim(path: string): boolean {
  if (path === 'event.id' || path === 'event.sequence') return true;
  if (FILE_VERBATIM.has(path) || NETWORK_VERBATIM.has(path)) return true;
  if (!path.startsWith('ebpf.')) return false;
  // Read by the serializer: kind (everything), error (error.code), bpf.cmd_name and open.intent (categorization).
  return !(
    path === 'ebpf.kind' ||
    path === 'ebpf.error' ||
    path === 'ebpf.bpf.cmd_name' ||
    path === 'ebpf.open.intent' ||
    path === 'ebpf.process' ||
    path.startsWith('ebpf.process.') ||
    path.startsWith('ebpf.raw_bytes') ||
    path.startsWith('ebpf.rules') ||
    path.startsWith('ebpf.kill')
  );
}

/** Where a slot's value comes from: the record's @timestamp, its own values, or its shape's values. */
export const enum From {
  Ts = 0,
  Own = 1,
  Shape = 2,
}

export interface Slot {
  from: From;
  /** Index among the record's own values, or among the shape's slot values. */
  index: number;
  path: string;
  type: 'string' | 'number';
}

export interface EcsPlan {
  /** pieces[0] slot pieces[1] slot … pieces[n], as UTF-8. */
  pieces: Buffer[];
  /** Their bytes together. */
  piecesBytes: number;
  /** The slot written after each piece but the last. */
  order: Slot[];
  /**
   * The same, packed for renderRaw (a line touches a few contiguous arrays,
   * not a slot object and a buffer object per value: on a busy machine
   * those loads miss the cache): `text` the pieces' bytes one after another,
   * piece j at [cut[j], cut[j + 1]); `code` per slot its From, index and 1
   * for a string (3 numbers a slot).
   */
  text: Buffer;
  /** A DataView of `text`. */
  view: DataView;
  cut: Int32Array;
  code: Int32Array;
  /** Index of event.id among the own values. */
  idIndex: number;
  /**
   * Pairs of own value indexes whose values must differ for the plan to
   * hold (source.ip and destination.ip: the serializer writes the
   * destination into related.ip only when it differs; the plan was cut with
   * different values).
   */
  distinct: number[];
  entityId: string;
  pid: number;
  /**
   * The process table entries the enriched event was written from (its
   * process, parent and session leaders: pid and epoch of each): the plan
   * holds while none of them changed.
   */
  deps: number[];
}

/**
 * Pids whose table entries enrich() copies into `ev`: its parent and its
 * leaders. Not the process's own: plans are used only for contexts whose
 * facts enrich() leaves as they are, and every event of the process that is
 * built bumps its epoch (which would throw its plans away at once).
 */
export function tableDeps(ev: SensorEvent): number[] {
  const pids = new Set<number>();
  const p = ev.process as unknown as Record<string, unknown>;
  for (const k in p) {
    const v = p[k];
    if (v !== null && typeof v === 'object' && typeof (v as { pid?: unknown }).pid === 'number') pids.add((v as { pid: number }).pid);
  }
  pids.delete(ev.process.pid);
  return [...pids];
}

const NEEDS_ESCAPE = /["\\\u0000-\u001f\u0085\u2028\u2029]/;

/** A value as ecsLine writes it; undefined when the serializer would not write it this way. */
function enc(v: unknown, type: 'string' | 'number'): string | undefined {
  if (typeof v !== type) return undefined;
  if (type === 'number') return Number.isFinite(v as number) ? `${v as number}` : 'null';
  const s = v as string;
  if (!s.isWellFormed()) return undefined; // raw bytes: the reference builder writes such events
  return NEEDS_ESCAPE.test(s) ? escapeLineBreaks(JSON.stringify(s)) : `"${s}"`;
}

function sentinel(k: number, type: 'string' | 'number'): string | number {
  return type === 'string' ? `\uE000${k}\uE001` : -(k + 1) * 1.2345678912345e-300;
}

/**
 * Puts `v` at `path` of `o` (the member must exist) and notes in `undo` how
 * to put the old value back (restore()). False, writing nothing, when the
 * path is not there.
 */
function setPath(o: Record<string, unknown>, path: string, v: unknown, undo: unknown[]): boolean {
  const parts = splitPath(path);
  let x: unknown = o;
  for (let i = 0; i < parts.length - 1; i++) {
    x = (x as Record<string, unknown>)[parts[i]!];
    if (x === null || typeof x !== 'object') return false;
  }
  const last = parts[parts.length - 1]!;
  if (!(last in (x as Record<string, unknown>))) return false;
  undo.push(x, last, (x as Record<string, unknown>)[last]);
  (x as Record<string, unknown>)[last] = v;
  return true;
}

/** Puts back what setPath() wrote over, last first. */
function restore(undo: unknown[]): void {
  for (let k = undo.length - 3; k >= 0; k -= 3) (undo[k] as Record<string, unknown>)[undo[k + 1] as string] = undo[k + 2];
}

/** The table entries a plan was written from are as they were (`deps`). */
export function planHolds(plan: EcsPlan, epochOf: (pid: number) => number): boolean {
  const d = plan.deps;
  for (let k = 0; k < d.length; k += 2) if (epochOf(d[k]!) !== d[k + 1]) return false;
  return true;
}

/** The slot values of the line being written, encoded (encodeSlots). */
const parts: string[] = [];

/**
 * Each slot's value encoded into `parts` (renderPlan, planText); false when
 * one does not fit its slot, or the two values that must differ (`distinct`)
 * are equal.
 */
function encodeSlots(order: readonly Slot[], distinct: readonly number[], ts: string | undefined, own: readonly unknown[], shape: readonly unknown[]): boolean {
  for (let k = 0; k < distinct.length; k += 2) if (own[distinct[k]!] === own[distinct[k + 1]!]) return false;
  for (let j = 0; j < order.length; j++) {
    const sl = order[j]!;
    const e = enc(sl.from === From.Ts ? ts : sl.from === From.Own ? own[sl.index] : shape[sl.index], sl.type);
    if (e === undefined) return false;
    parts[j] = e;
  }
  return true;
}
/** What String() makes of a number sentinel (sentinel()): -1.2345678912345e-300, -1.3580246803579499e-299 … */
const NUMBER_SENTINEL = /-\d(?:\.\d+)?e-\d+/g;

/**
 * Writes a line (UTF-8, no newline) from a plan: the pieces copied as bytes,
 * the values encoded between them. Undefined when a value does not fit its
 * slot (the caller builds the event instead).
 */
export function renderPlan(plan: EcsPlan, ts: string | undefined, own: readonly unknown[], shape: readonly unknown[]): Buffer | undefined {
  const { pieces, order } = plan;
  if (!encodeSlots(order, plan.distinct, ts, own, shape)) return undefined;
  let len = plan.piecesBytes;
  for (let j = 0; j < order.length; j++) len += Buffer.byteLength(parts[j]!, 'utf8');
  const out = Buffer.allocUnsafe(len);
  let off = 0;
  for (let j = 0; j < order.length; j++) {
    const p = pieces[j]!;
    out.set(p, off);
    off += p.length;
    off += out.write(parts[j]!, off, 'utf8');
  }
  out.set(pieces[order.length]!, off);
  return out;
}

/** Bytes of planned lines are written into chunks of this size, one line after another. */
const CHUNK_BYTES = 4 << 20;

/**
 * Where `renderRaw` writes lines: one chunk after another, each line a range
 * of a chunk followed by LF, so a line costs no allocation of its own and a
 * run of lines is the bytes a file gets (the file sink writes such runs from
 * where they are, ndjson-sink.ts, instead of copying each line). The chunks are
 * reused once the sinks have the lines (`release()`, after every send: the
 * Sink contract lets the caller write over a batch's bytes once send()
 * resolved), so a replay touches the same few MiB again instead of fresh
 * memory (a page fault every 4 KiB) for every batch.
 */
export class LineChunks {
  private readonly chunks: Buffer[] = [Buffer.allocUnsafeSlow(CHUNK_BYTES)];
  private at = 0;
  buf: Buffer = this.chunks[0]!;
  /** A DataView of `buf` (renderRaw copies short runs through it). */
  view: DataView = dataView(this.buf);
  off = 0;
  /** Room for n more bytes in `buf` from `off` (the next chunk when the current one is full). */
  reserve(n: number): void {
    if (this.off + n <= this.buf.length) return;
    this.at++;
    if (this.at >= this.chunks.length || this.chunks[this.at]!.length < n) this.chunks.splice(this.at, 0, Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, n)));
    this.buf = this.chunks[this.at]!;
    this.view = dataView(this.buf);
    this.off = 0;
  }
  /**
   * Every line written so far has been shipped and is not read again: start
   * over in the first chunk. Chunks beyond a few (a batch of huge lines) are let go.
   */
  release(): void {
    const kept = this.chunks.filter((c) => c.length === CHUNK_BYTES).slice(0, MAX_KEPT_CHUNKS);
    if (!kept.length) kept.push(Buffer.allocUnsafeSlow(CHUNK_BYTES));
    this.chunks.splice(0, this.chunks.length, ...kept);
    this.at = 0;
    this.buf = this.chunks[0]!;
    this.view = dataView(this.buf);
    this.off = 0;
  }
}

/** Chunks kept for reuse: a batch of SEND_BATCH lines of ~2 kB fills a quarter of one; a batch of huge lines more. */
const MAX_KEPT_CHUNKS = 4;

/**
 * A shape's slot values as ecsLine writes them, one after another in `text`
 * (value k at [at[2k], at[2k + 1])) and each as a buffer of its own (long
 * values are copied from those).
 */
export interface ShapeBytes {
  text: Buffer;
  /** A DataView of `text`. */
  view: DataView;
  at: Int32Array;
  parts: Buffer[];
}

/** A shape's slot values encoded (ShapeBytes), or null when one is not written that way (renderPlan handles those). */
export function slotBytes(slots: readonly Slot[], values: readonly unknown[]): ShapeBytes | null {
  const parts: Buffer[] = [];
  for (const sl of slots) {
    const e = enc(values[sl.index], sl.type);
    if (e === undefined) return null;
    parts[sl.index] = Buffer.from(e, 'utf8');
  }
  for (let k = 0; k < parts.length; k++) parts[k] ??= Buffer.alloc(0);
  const text = Buffer.concat(parts);
  const at = new Int32Array(2 * parts.length);
  let off = 0;
  for (let k = 0; k < parts.length; k++) {
    at[2 * k] = off;
    off += parts[k]!.length;
    at[2 * k + 1] = off;
  }
  return { text, view: dataView(text), at, parts };
}

const QUOTE = 0x22;
const LF = 0x0a;
const BACKSLASH = 0x5c;

/** Own values a and b (spans: CaptureBlock.ownSpans) have the same bytes. */
function sameBytes(src: Buffer, spans: Int32Array, a: number, b: number): boolean {
  const a0 = spans[2 * a]!;
  const b0 = spans[2 * b]!;
  const n = spans[2 * a + 1]! - a0;
  if (n !== spans[2 * b + 1]! - b0) return false;
  for (let k = 0; k < n; k++) if (src[a0 + k] !== src[b0 + k]) return false;
  return true;
}

/** Copies up to this many bytes with a loop; longer runs with one copy call. */
const LOOP_BYTES = 64;

/**
 * Copies bytes [a, e) of `s` to `d` at `off`, four at a time (a copy call
 * costs ≈ 65 ns here whatever its length; a loop a byte at a time was most
 * of renderRaw). Returns where the copy ends in `d`.
 */
function copyRun(s: DataView, a: number, e: number, d: DataView, off: number): number {
  for (; e - a >= 4; a += 4, off += 4) d.setUint32(off, s.getUint32(a));
  for (; a < e; a++) d.setUint8(off++, s.getUint8(a));
  return off;
}

function dataView(b: Buffer): DataView {
  return new DataView(b.buffer, b.byteOffset, b.length);
}

let lastSrc: Buffer | undefined;
let lastView: DataView | undefined;

/** A DataView of `b` (the last one made is kept: renderRaw reads one capture block for many lines). */
function viewOf(b: Buffer): DataView {
  if (b !== lastSrc) {
    lastSrc = b;
    lastView = dataView(b);
  }
  return lastView!;
}

/**
 * Writes a line like renderPlan, with the record's own values and timestamp
 * copied as the capture holds them: `spans` are the places of its `n` own
 * values in `src` (CaptureBlock.ownSpans: canonical JSON only, so those bytes
 * are exactly what enc() would write), `shape` the shape's slot values
 * already encoded (slotBytes). Returns where the line starts in `out.buf`
 * (it ends at `out.off - 1`: an LF follows it, see LineChunks), or -1,
 * writing nothing, when a value does not fit
 * its slot or the timestamp is not plain ASCII (renderPlan decides those).
 * Reads the plan's packed form (EcsPlan.text, cut, code).
 */
export function renderRaw(plan: EcsPlan, src: Buffer, tsStart: number, tsEnd: number, spans: Int32Array, n: number, shape: ShapeBytes, out: LineChunks): number {
  const d = plan.distinct;
  for (let k = 0; k < d.length; k += 2) if (d[k]! >= n || d[k + 1]! >= n || sameBytes(src, spans, d[k]!, d[k + 1]!)) return -1;
  const code = plan.code;
  const sat = shape.at;
  let len = plan.piecesBytes;
  for (let c = 0; c < code.length; c += 3) {
    const from = code[c]!;
    const k = code[c + 1]!;
    if (from === From.Own) {
      if (k >= n || (src[spans[2 * k]!] === QUOTE) !== (code[c + 2] === 1)) return -1;
      len += spans[2 * k + 1]! - spans[2 * k]!;
    } else if (from === From.Ts) {
      if (tsStart < 0 || code[c + 2] !== 1) return -1;
      for (let x = tsStart; x < tsEnd; x++) {
        const ch = src[x]!;
        if (ch < 0x20 || ch > 0x7e || ch === QUOTE || ch === BACKSLASH) return -1;
      }
      len += tsEnd - tsStart + 2;
    } else len += sat[2 * k + 1]! - sat[2 * k]!;
  }
  out.reserve(len + 1);
  const dst = out.buf;
  const dv = out.view;
  const tv = plan.view;
  const cut = plan.cut;
  const sv = shape.view;
  const bv = viewOf(src);
  const start = out.off;
  let off = start;
  for (let j = 0, c = 0; ; j++, c += 3) {
    let a = cut[j]!;
    let e = cut[j + 1]!;
    if (e - a > LOOP_BYTES) {
      dst.set(plan.pieces[j]!, off);
      off += e - a;
    } else off = copyRun(tv, a, e, dv, off);
    if (c >= code.length) break;
    const from = code[c]!;
    const k = code[c + 1]!;
    if (from === From.Shape) {
      a = sat[2 * k]!;
      e = sat[2 * k + 1]!;
      if (e - a > LOOP_BYTES) {
        dst.set(shape.parts[k]!, off);
        off += e - a;
      } else off = copyRun(sv, a, e, dv, off);
    } else if (from === From.Own) {
      a = spans[2 * k]!;
      e = spans[2 * k + 1]!;
      if (e - a > LOOP_BYTES) off += src.copy(dst, off, a, e);
      else off = copyRun(bv, a, e, dv, off);
    } else {
      dst[off++] = QUOTE;
      off = copyRun(bv, tsStart, tsEnd, dv, off);
      dst[off++] = QUOTE;
    }
  }
  dst[off] = LF;
  out.off = off + 1;
  return start;
}

/**
 * A plan's pieces (given as text) as bytes: EcsPlan.pieces (views of one
 * buffer, `text`), piecesBytes, text, view, cut, and code of its slots.
 */
function packed(texts: readonly string[], order: readonly Slot[]): Pick<EcsPlan, 'pieces' | 'piecesBytes' | 'text' | 'view' | 'cut' | 'code'> {
  const joined = texts.join('');
  const text = Buffer.from(joined, 'utf8');
  // All ASCII (the usual case): byte offsets are character offsets.
  const ascii = text.length === joined.length;
  const cut = new Int32Array(texts.length + 1);
  for (let j = 0; j < texts.length; j++) cut[j + 1] = cut[j]! + (ascii ? texts[j]!.length : Buffer.byteLength(texts[j]!, 'utf8'));
  const pieces: Buffer[] = [];
  for (let j = 0; j < texts.length; j++) pieces.push(text.subarray(cut[j]!, cut[j + 1]!));
  const code = new Int32Array(3 * order.length);
  order.forEach((sl, j) => {
    code[3 * j] = sl.from;
    code[3 * j + 1] = sl.index;
    code[3 * j + 2] = sl.type === 'string' ? 1 : 0;
  });
  return { pieces, piecesBytes: text.length, text, view: dataView(text), cut, code };
}

/**
 * The plan of `ev` (materialized, enriched, decided normal), with `slots`
 * the places that vary within its key, or null when none holds: a value
 * that does not fit, a line not cut cleanly, or a plan that does not write
 * `ev` itself byte for byte. `onLine` gets `ev`'s own line (with no rule
 * matches) once the check has written it.
 */
export function buildPlan(
  ev: SensorEvent,
  slots: readonly Slot[],
  values: { ts: string | undefined; own: readonly unknown[]; shape: readonly unknown[] },
  host: HostInfo,
  agent: AgentInfo,
  epochOf: (pid: number) => number,
  onLine?: (line: Buffer) => void,
): EcsPlan | null {
  const idIndex = slots.find((s) => s.from === From.Own && s.path === 'event.id')?.index ?? -1;
  if (idIndex < 0 || typeof ev.process?.entity_id !== 'string' || typeof ev.process.pid !== 'number') return null;
  // The sentinels go into the event itself, put back once the probe line is written (a copy of the whole event cost more).
  const undo: unknown[] = [];
  let line: string;
  try {
    for (let k = 0; k < slots.length; k++) if (!setPath(ev as unknown as Record<string, unknown>, slots[k]!.path, sentinel(k, slots[k]!.type), undo)) return null;
    line = ecsLine({ event: ev, verdict: NORMAL }, host, agent);
  } finally {
    restore(undo);
  }
  // One pass over the line for each kind of sentinel (a search per slot costs a pass each).
  const found: Array<{ at: number; len: number; k: number }> = [];
  for (let at = line.indexOf('\uE000'); at >= 0; at = line.indexOf('\uE000', at + 1)) {
    const close = line.indexOf('\uE001', at);
    const k = close > at + 1 && close - at < 8 ? Number(line.slice(at + 1, close)) : -1;
    // Anything else carrying U+E000 (a value of the event's own) leaves the plan unusable, as a stray sentinel would.
    if (!(k >= 0 && k < slots.length && slots[k]!.type === 'string' && line[at - 1] === '"' && line[close + 1] === '"' && line.slice(at, close + 1) === sentinel(k, 'string'))) return null;
    found.push({ at: at - 1, len: close + 2 - (at - 1), k });
  }
  if (slots.some((sl) => sl.type === 'number')) {
    NUMBER_SENTINEL.lastIndex = 0;
    for (let m = NUMBER_SENTINEL.exec(line); m; m = NUMBER_SENTINEL.exec(line)) {
      const text = m[0];
      const k = Math.round(-Number(text) / 1.2345678912345e-300) - 1;
      if (k >= 0 && k < slots.length && slots[k]!.type === 'number' && text === String(sentinel(k, 'number'))) found.push({ at: m.index, len: text.length, k });
    }
  }
  found.sort((x, y) => x.at - y.at);
  const texts: string[] = [];
  const order: Slot[] = [];
  let from = 0;
  for (const f of found) {
    if (f.at < from) return null;
    texts.push(line.slice(from, f.at));
    order.push(slots[f.k]!);
    from = f.at + f.len;
  }
  texts.push(line.slice(from));
  if (texts.some((p) => p.includes('\uE000'))) return null;
  const ownIndex = (path: string): number => slots.find((s) => s.from === From.Own && s.path === path)?.index ?? -1;
  const src = ownIndex('source.ip');
  const dst = ownIndex('destination.ip');
  // Both of the record's own, or neither a slot: anything else is not planned.
  if ((src >= 0) !== (dst >= 0) || slots.some((s) => s.from !== From.Own && (s.path === 'source.ip' || s.path === 'destination.ip'))) return null;
  const distinct = src >= 0 ? [src, dst] : [];
  const evText = ecsLine({ event: ev, verdict: NORMAL }, host, agent);
  onLine?.(Buffer.from(evText, 'utf8'));
  // The check: the plan writes `ev` itself as the serializer did (compared as text, before any bytes are made).
  if (planText(texts, order, distinct, values.ts, values.own, values.shape) !== evText) return null;
  const deps: number[] = [];
  for (const pid of tableDeps(ev)) deps.push(pid, epochOf(pid));
  const pk = packed(texts, order);
  // Members named one by one, in one order: every plan has the same hidden class (renderRaw reads them per line).
  return {
    pieces: pk.pieces,
    piecesBytes: pk.piecesBytes,
    order,
    text: pk.text,
    view: pk.view,
    cut: pk.cut,
    code: pk.code,
    idIndex,
    distinct,
    entityId: ev.process.entity_id,
    pid: ev.process.pid,
    deps,
  };
}

/** renderPlan's line as text, from the pieces as text; undefined when a value does not fit. */
function planText(texts: readonly string[], order: readonly Slot[], distinct: readonly number[], ts: string | undefined, own: readonly unknown[], shape: readonly unknown[]): string | undefined {
  if (!encodeSlots(order, distinct, ts, own, shape)) return undefined;
  let s = texts[0]!;
  for (let j = 0; j < order.length; j++) s += parts[j]! + texts[j + 1]!;
  return s;
}

/**
 * The event a plan was cut from, shipped with the line its plan was checked
 * against (buildPlan's `onLine`): that line is what a sink would write for
 * it (the serializer reads only the matches of a verdict, and it has none),
 * so it is not serialized a third time.
 */
export class CheckedEvent implements ClassifiedEvent {
  constructor(
    readonly event: SensorEvent,
    readonly verdict: Verdict,
    private readonly line: Buffer,
  ) {}
  shipped(format: string): Buffer | undefined {
    return format === 'ecs' ? this.line : undefined;
  }
}

/**
 * A replayed event written from a plan: its ECS line is shipped as it is;
 * anything that needs the event itself (another format) builds it then.
 * The line is a range of a chunk (LineChunks) or a buffer of its own; the
 * event id is read from the capture's bytes when something asks for the route.
 */
export class PlannedEvent implements ClassifiedEvent {
  readonly verdict = NORMAL;
  private built: SensorEvent | undefined;
  private r: EventRoute | undefined;
  /**
   * @param buf, start, end: the line
   * @param id the event id, or undefined: it is the bytes [idStart, idEnd) of `block.bytes`
   */
  constructor(
    private readonly buf: Buffer,
    private readonly start: number,
    private readonly end: number,
    private readonly id: string | undefined,
    private readonly idStart: number,
    private readonly idEnd: number,
    private readonly plan: EcsPlan,
    private readonly block: { readonly bytes: Buffer; materialize(i: number): SensorEvent },
    private readonly index: number,
  ) {}
  get route(): EventRoute {
    return (this.r ??= {
      suspicious: false,
      loss: false,
      id: this.id ?? this.block.bytes.toString('latin1', this.idStart, this.idEnd),
      entityId: this.plan.entityId,
      pid: this.plan.pid,
    });
  }
  get event(): SensorEvent {
    return (this.built ??= this.block.materialize(this.index));
  }
  shipped(format: string): Buffer | undefined {
    return format === 'ecs' ? this.buf.subarray(this.start, this.end) : undefined;
  }
}
