/**
 * Reads capture files (capture-format.ts) block by block.
 *
 * Each block is read whole (its length is in its gzip extra field),
 * checked (CRC-32, length) and inflated in one call into a buffer of the
 * right size, then indexed: definitions are parsed, event lines are only
 * located (context, shape, timestamp, where the body is). Bodies are parsed
 * when an event is materialized, so a reader that can decide from contexts
 * and shapes alone never parses them.
 *
 * Damage never throws past the reader unannounced: every problem is a
 * SensorError (ESENSOR_CAPTURE_FORMAT) naming the file and the record.
 * With `skipBad` the reader reports it (`onDamage`) and goes on with the
 * next good record, block or member instead of stopping.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, inflateRawSync } from 'node:zlib';
import { Ajv, type ValidateFunction } from 'ajv';
import type { SensorError } from '../../errors.js';
import { EVENT_KINDS, type SensorEvent } from '../../model/event.js';
import {
  BLOCK_FLAG_HEADER,
  CAPTURE_FORMAT,
  DEFAULT_MAX_BLOCK_BYTES,
  MAX_TEMPLATE_DEPTH,
  CAPTURE_VERSION,
  MEMBER_HEADER_BYTES,
  MEMBER_TRAILER_BYTES,
  captureError,
  cloneJson,
  parseMemberHeader,
  splitPath,
  unsafePath,
  type CaptureHeader,
  type MemberInfo,
} from './capture-format.js';

/** A problem found in an input; `records` are the 1-based record numbers lost, when known. */
export interface InputDamage {
  file: string;
  error: SensorError;
  records?: { from: number; to: number };
}

export interface CaptureReaderOptions {
  /** Report damage (onDamage) and go on, instead of throwing. */
  skipBad?: boolean;
  onDamage?: (d: InputDamage) => void;
  /**
   * Largest inflated block accepted (default DEFAULT_MAX_BLOCK_BYTES): the
   * memory a hostile capture can make the reader hold. Larger blocks are
   * damage, found before inflating (trailer) or while inflating (output
   * capped at what the trailer says).
   */
  maxBlockBytes?: number;
}

const KINDS: ReadonlySet<string> = new Set(EVENT_KINDS);
/** schemas/ of the package (dist/src/sources/replay → ../../../../schemas). */
const SCHEMAS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../../schemas');

let headerValidator: ValidateFunction | undefined;
function validateHeader(): ValidateFunction {
  if (!headerValidator) {
    const schema = JSON.parse(readFileSync(join(SCHEMAS_DIR, 'capture.schema.json'), 'utf8')) as { $id: string };
    const ajv = new Ajv({ strict: true, allErrors: false, allowUnionTypes: true });
    ajv.addSchema(schema);
    headerValidator = ajv.getSchema(`${schema.$id}#/definitions/header`)!;
  }
  return headerValidator;
}

let eventValidator: ValidateFunction | undefined;
/**
 * Which field of `ev` has the wrong type for a canonical event
 * (schemas/event.schema.json), or undefined when it has none. Too slow for
 * every event (tens of µs); replay calls it when handling an event failed,
 * to tell a malformed record (a coded capture error naming the field) from a
 * bug of the sensor.
 */
export function eventTypeProblem(ev: unknown): string | undefined {
  if (!eventValidator) {
    const schema = JSON.parse(readFileSync(join(SCHEMAS_DIR, 'event.schema.json'), 'utf8')) as { $id: string };
    const ajv = new Ajv({ strict: false, allErrors: false, allowUnionTypes: true });
    ajv.addSchema(schema);
    eventValidator = ajv.getSchema(`${schema.$id}#/definitions/SensorEvent`)!;
  }
  if (eventValidator(ev)) return undefined;
  const e = eventValidator.errors?.[0];
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

const BRACKET_OPEN = 0x5b;
const BRACKET_CLOSE = 0x5d;
const QUOTE = 0x22;
const COMMA = 0x2c;
const NEWLINE = 0x0a;

/** A template: an object whose leaves are 0 (a hoisted value) or 1 (the next of the event's values). */
type Template = { [key: string]: 0 | 1 | Template };

/** A flat template of dotted paths (shapes), prepared for reading. */
interface FlatTemplate {
  paths: string[];
  index: ReadonlyMap<string, number>;
  nested: Template;
  /** For each leaf of `nested`, in order: the index of its value. */
  order: number[];
}

/**
 * A template value, or why it is not one. Keys that would reach an object's
 * prototype (`__proto__`, also as part of a dotted path) are refused, and
 * nesting is bounded, so filling a template can neither pollute nor
 * exhaust the stack.
 */
function checkTemplate(v: unknown, depth = 0): string | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'not an object';
  if (depth >= MAX_TEMPLATE_DEPTH) return `nested deeper than ${MAX_TEMPLATE_DEPTH} levels`;
  for (const k in v as Record<string, unknown>) {
    if (unsafePath(k)) return `the key ${JSON.stringify(k)} is not allowed`;
    const x = (v as Record<string, unknown>)[k];
    if (x === 0 || x === 1) continue;
    const why = checkTemplate(x, depth + 1);
    if (why) return why;
  }
  return undefined;
}

/**
 * Build an object from its template and values (`at.i` ends at the number of
 * values used). With `copy`, array values are copied, so objects built from
 * shared values share nothing.
 */
function fill(t: Template, values: unknown[], at: { i: number }, copy = false): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const k in t) {
    const x = t[k]!;
    if (x === 1) {
      const v = values[at.i++];
      o[k] = copy && Array.isArray(v) ? cloneJson(v) : v;
    } else if (x === 0) o[k] = 0;
    else o[k] = fill(x, values, at, copy);
  }
  return o;
}

/**
 * One block of a capture, indexed from its inflated bytes: definitions are
 * parsed, event lines only located. Record `i` of the block is record
 * `firstRecord + i + 1` of the file (1-based, as errors count).
 */
export class CaptureBlock {
  /**
   * Context definitions: where their JSON is, parsed on demand (they are the
   * largest definitions, and most readers need only a few facts of each).
   */
  private ctxStart: number[] = [];
  private ctxEnd: number[] = [];
  private ctxTmpl: number[] = [];
  /** Per template: where each leaf path sits among a context's values. */
  private readonly leafIndex = new Map<number, Map<string, number>>();
  /** Per template, when it is flat (shapes); null when it is not. */
  private readonly flat = new Map<number, FlatTemplate | null>();
  /** Parsed contexts kept for the partial matchers (null: damaged). */
  private readonly ctxCache: Array<Record<string, unknown> | null | undefined> = [];
  /** Parsed context values kept for materialization (null: damaged). */
  private readonly ctxValuesCache: Array<unknown[] | null | undefined> = [];
  /** Shape definitions: their template and values (undefined: damaged). */
  private readonly shapes: Array<{ t: number; values: unknown[] } | undefined> = [];
  private readonly templates: Array<Template | undefined> = [];
  ctxOf: Int32Array;
  shapeOf: Int32Array;
  private tmplOf: Int32Array;
  private tsStart: Int32Array;
  private tsEnd: Int32Array;
  private valStart: Int32Array;
  private valEnd: Int32Array;
  /** Records found bad while indexing. */
  readonly bad = new Map<number, SensorError>();
  count = 0;
  /** Lines indexed so far: no definition number can exceed it (see definition()). */
  private lines = 0;

  constructor(
    readonly file: string,
    readonly block: number,
    readonly firstRecord: number,
    private readonly buf: Buffer,
    expected: number,
  ) {
    // The block header's count is only a hint: a record takes at least 3 bytes.
    const n = Math.max(Math.min(expected, Math.ceil(buf.length / 3)), 16);
    this.ctxOf = new Int32Array(n);
    this.shapeOf = new Int32Array(n);
    this.tmplOf = new Int32Array(n);
    this.tsStart = new Int32Array(n);
    this.tsEnd = new Int32Array(n);
    this.valStart = new Int32Array(n);
    this.valEnd = new Int32Array(n);
    this.index();
  }

  /** "record N" of the file for record i of the block. */
  where(i: number): string {
    return `record ${this.firstRecord + i + 1}`;
  }

  private err(i: number, message: string, cause?: unknown): SensorError {
    return captureError(this.file, this.where(i), message, cause);
  }

  private index(): void {
    const b = this.buf;
    const len = b.length;
    let pos = 0;
    let i = 0;
    while (pos < len) {
      let end = b.indexOf(NEWLINE, pos);
      if (end < 0) end = len;
      const what = this.line(pos, end, i);
      this.lines++;
      if (what === 'event') i++;
      else if (what !== 'def') {
        // A line we cannot read counts as the next record (a broken definition
        // costs the records that use it, which say so themselves).
        this.grow(i + 1);
        this.ctxOf[i] = -1;
        this.shapeOf[i] = -1;
        this.tmplOf[i] = -1;
        this.bad.set(i, this.err(i, end >= len ? 'the line is cut short (no newline at the end of the block)' : what));
        i++;
      }
      pos = end + 1;
    }
    this.count = i;
  }

  private grow(n: number): void {
    if (n <= this.ctxOf.length) return;
    const size = Math.max(n, this.ctxOf.length * 2);
    const g = (a: Int32Array): Int32Array => {
      const x = new Int32Array(size);
      x.set(a);
      return x;
    };
    this.ctxOf = g(this.ctxOf);
    this.shapeOf = g(this.shapeOf);
    this.tmplOf = g(this.tmplOf);
    this.tsStart = g(this.tsStart);
    this.tsEnd = g(this.tsEnd);
    this.valStart = g(this.valStart);
    this.valEnd = g(this.valEnd);
  }

  /** Index one line [start, end): 'event', 'def', or why it is unreadable. */
  private line(start: number, end: number, i: number): string {
    const b = this.buf;
    if (end - start < 2 || b[start] !== BRACKET_OPEN || b[end - 1] !== BRACKET_CLOSE) return 'not a record line';
    if (b[start + 1] === QUOTE) return this.definition(start, end);
    // [ctx,shape,template,"timestamp"|null,[values]]
    let p = start + 1;
    let ctx = 0;
    let shape = 0;
    let tmpl = 0;
    for (let k = 0; k < 3; k++) {
      let v = 0;
      const from = p;
      for (let c = b[p]!; c >= 48 && c <= 57; c = b[++p]!) v = v * 10 + (c - 48);
      if (p === from || p - from > 9 || b[p] !== COMMA) return 'not a record line';
      if (k === 0) ctx = v;
      else if (k === 1) shape = v;
      else tmpl = v;
      p++;
    }
    let tsStart = -1;
    let tsEnd = -1;
    if (b[p] === QUOTE) {
      const q = b.indexOf(QUOTE, p + 1);
      if (q < 0 || q >= end) return 'the timestamp is not a string';
      tsStart = p + 1;
      tsEnd = q;
      p = q + 1;
    } else if (b[p] === 0x6e /* n */ && b[p + 1] === 0x75 && b[p + 2] === 0x6c && b[p + 3] === 0x6c) p += 4;
    else return 'the timestamp is neither a string nor null';
    if (b[p] !== COMMA || b[p + 1] !== BRACKET_OPEN || b[end - 2] !== BRACKET_CLOSE) return 'the event values are not an array';
    this.grow(i + 1);
    this.ctxOf[i] = ctx;
    this.shapeOf[i] = shape;
    this.tmplOf[i] = tmpl;
    this.tsStart[i] = tsStart;
    this.tsEnd[i] = tsEnd;
    this.valStart[i] = p + 1;
    this.valEnd[i] = end - 1;
    // Definitions come before their first use: check the three references (cheap when they are there).
    if (ctx >= this.ctxStart.length || this.ctxStart[ctx]! < 0 || shape >= this.shapes.length || this.shapes[shape] === undefined || tmpl >= this.templates.length || this.templates[tmpl] === undefined) {
      this.bad.set(i, this.err(i, this.whyMissing(ctx, shape, tmpl)));
    }
    return 'event';
  }

  private whyMissing(ctx: number, shape: number, tmpl: number): string {
    const one = (what: string, id: number, table: readonly unknown[], damaged: boolean): string | undefined =>
      id >= table.length ? `refers to ${what} ${id}, which is not defined before it` : damaged ? `refers to ${what} ${id}, whose definition is damaged` : undefined;
    return (
      one('context', ctx, this.ctxStart, (this.ctxStart[ctx] ?? 0) < 0) ??
      one('shape', shape, this.shapes, this.shapes[shape] === undefined) ??
      one('template', tmpl, this.templates, this.templates[tmpl] === undefined) ??
      'a reference is damaged'
    );
  }

  /** A definition line (it starts with `["`): damaged ones leave a hole that the records using them report. */
  private definition(start: number, end: number): 'def' {
    const b = this.buf;
    const kind = b[start + 2];
    const table: unknown[] | undefined =
      b[start + 3] !== QUOTE || b[start + 4] !== COMMA ? undefined : kind === 0x63 /* c */ ? this.ctxStart : kind === 0x73 /* s */ ? (this.shapes as unknown[]) : kind === 0x74 /* t */ ? this.templates : undefined;
    if (!table) return 'def';
    const comma = b.indexOf(COMMA, start + 5);
    const id = comma > 0 && comma < end ? Number(b.toString('latin1', start + 5, comma)) : NaN;
    if (table === this.ctxStart) {
      // ["c",id,template,[values]]
      let t = -1;
      const comma2 = comma > 0 ? b.indexOf(COMMA, comma + 1) : -1;
      if (comma2 > 0 && comma2 < end && b[comma2 + 1] === BRACKET_OPEN && b[end - 2] === BRACKET_CLOSE) t = Number(b.toString('latin1', comma + 1, comma2));
      const ok = Number.isSafeInteger(t) && t >= 0 && t < this.templates.length && this.templates[t] !== undefined;
      if (id !== this.ctxStart.length) {
        // A gap is what damaged lines before it cost: at most one number per line, so a
        // hostile jump in numbering cannot make the tables outgrow the block.
        if (Number.isSafeInteger(id) && id > this.ctxStart.length && id <= this.lines) {
          while (this.ctxStart.length < id) this.contextHole();
        }
        this.contextHole();
        return 'def';
      }
      if (!ok) {
        this.contextHole();
        return 'def';
      }
      this.ctxStart.push(comma2 + 1);
      this.ctxEnd.push(end - 1);
      this.ctxTmpl.push(t);
      return 'def';
    }
    let value: unknown;
    let ok: boolean;
    if (table === this.templates) {
      try {
        value = JSON.parse(b.toString('utf8', comma + 1, end - 1));
      } catch {
        value = undefined;
      }
      ok = checkTemplate(value) === undefined;
    } else {
      // ["s",id,template,[values]]: a flat template of dotted paths.
      const comma2 = comma > 0 ? b.indexOf(COMMA, comma + 1) : -1;
      const t = comma2 > 0 && comma2 < end ? Number(b.toString('latin1', comma + 1, comma2)) : NaN;
      let values: unknown;
      try {
        values = JSON.parse(b.toString('utf8', comma2 + 1, end - 1));
      } catch {
        values = undefined;
      }
      const info = Number.isSafeInteger(t) && t >= 0 && t < this.templates.length ? this.flatTemplate(t) : undefined;
      ok = info !== undefined && Array.isArray(values) && values.length === info.paths.length;
      value = { t, values };
    }
    if (id !== table.length) {
      // Numbers come in order: anything else is a damaged line; leave a hole where it should be.
      if (Number.isSafeInteger(id) && id > table.length && id <= this.lines) table.length = id + 1;
      else table.push(undefined);
      return 'def';
    }
    table.push(ok ? value : undefined);
    return 'def';
  }

  private contextHole(): void {
    this.ctxStart.push(-1);
    this.ctxEnd.push(-1);
    this.ctxTmpl.push(-1);
  }

  /** Number of context definitions. */
  get contextCount(): number {
    return this.ctxStart.length;
  }

  /** The values of context `c` (a fresh array), or undefined when its definition is damaged. */
  contextValues(c: number): unknown[] | undefined {
    const s = this.ctxStart[c];
    if (s === undefined || s < 0) return undefined;
    let v: unknown;
    try {
      v = JSON.parse(this.buf.toString('utf8', s, this.ctxEnd[c]));
    } catch {
      return undefined;
    }
    return Array.isArray(v) ? v : undefined;
  }

  /**
   * Some values of context `c`, by position (`want` ascending), read by
   * skipping over the others without parsing them; undefined when the
   * definition is damaged. A fraction of the cost of contextValues() when
   * only a few facts are needed.
   */
  contextAt(c: number, want: readonly number[]): unknown[] | undefined {
    const start = this.ctxStart[c];
    if (start === undefined || start < 0) return undefined;
    const b = this.buf;
    const end = this.ctxEnd[c]!;
    const out = new Array<unknown>(want.length);
    let p = start + 1; // after '['
    let k = 0;
    for (let idx = 0; k < want.length; idx++) {
      if (p >= end) return undefined;
      const from = p;
      const c0 = b[p]!;
      if (c0 === QUOTE) {
        const q = this.stringEnd(p, end);
        if (q < 0) return undefined;
        p = q + 1;
        if (idx === want[k]) {
          let plain = true;
          for (let x = from + 1; x < q; x++) if (b[x] === 0x5c) plain = false;
          if (plain) out[k++] = b.toString('utf8', from + 1, q);
          else {
            try {
              out[k++] = JSON.parse(b.toString('utf8', from, p));
            } catch {
              return undefined;
            }
          }
        }
      } else if (c0 === BRACKET_OPEN || c0 === 0x7b /* { */) {
        // A nested value: count brackets, stepping over strings.
        let depth = 0;
        do {
          const ch = b[p]!;
          if (ch === QUOTE) {
            const q = this.stringEnd(p, end);
            if (q < 0) return undefined;
            p = q + 1;
            continue;
          }
          if (ch === BRACKET_OPEN || ch === 0x7b) depth++;
          else if (ch === BRACKET_CLOSE || ch === 0x7d) depth--;
          p++;
        } while (depth > 0 && p < end);
        if (idx === want[k]) {
          try {
            out[k++] = JSON.parse(b.toString('utf8', from, p));
          } catch {
            return undefined;
          }
        }
      } else {
        // A number, true, false or null.
        while (p < end && b[p] !== COMMA && b[p] !== BRACKET_CLOSE) p++;
        if (idx === want[k]) {
          const t = b.toString('latin1', from, p);
          const v = t === 'true' ? true : t === 'false' ? false : t === 'null' ? null : Number(t);
          if (t === '' || (typeof v === 'number' && !Number.isFinite(v))) return undefined;
          out[k++] = v;
        }
      }
      if (b[p] === COMMA) p++;
      else if (k < want.length) return undefined; // the array ended before a wanted value
    }
    return out;
  }

  /**
   * A flat template (shapes): its dotted paths in value order, where each
   * is, and how to build the nested partial event from the values.
   */
  private flatTemplate(t: number): FlatTemplate | undefined {
    let f = this.flat.get(t);
    if (f !== undefined) return f ?? undefined;
    const tmpl = this.templates[t];
    let result: FlatTemplate | null = null;
    if (tmpl) {
      const paths = Object.keys(tmpl);
      if (paths.every((p) => tmpl[p] === 1)) {
        // The nested form of the paths, and for each of its leaves (in order) the value it takes.
        const nested: Template = {};
        const slot = new Map<string, number>();
        paths.forEach((p, i) => {
          const parts = splitPath(p);
          let o = nested;
          for (let k = 0; k < parts.length - 1; k++) o = (o[parts[k]!] ??= {}) as Template;
          o[parts[parts.length - 1]!] = 1;
          slot.set(p, i);
        });
        const order: number[] = [];
        const walk = (o: Template, prefix: string): void => {
          for (const k in o) {
            const x = o[k]!;
            const path = prefix ? `${prefix}.${k}` : k;
            if (x === 1) order.push(slot.get(path)!);
            else if (x !== 0) walk(x, path);
          }
        };
        walk(nested, '');
        result = { paths, index: slot, nested, order };
      }
    }
    this.flat.set(t, result);
    return result ?? undefined;
  }

  /** Number of shape definitions. */
  get shapeCount(): number {
    return this.shapes.length;
  }

  /** The value shape `s` holds for `path` (undefined: absent, or the shape is damaged). */
  shapeField(s: number, path: string): unknown {
    const d = this.shapes[s];
    if (!d) return undefined;
    const i = this.flat.get(d.t)?.index.get(path);
    return i === undefined ? undefined : d.values[i];
  }

  /** Shape `s` set into `into` as nested objects (a partial event); false when the shape is damaged. */
  shapeInto(s: number, into: Record<string, unknown>): boolean {
    const d = this.shapes[s];
    const f = d && this.flat.get(d.t);
    if (!d || !f) return false;
    const at = { i: 0 };
    const put = (o: Template, target: Record<string, unknown>): void => {
      for (const k in o) {
        const x = o[k]!;
        if (x === 1) target[k] = d.values[f.order[at.i++]!];
        else if (x !== 0) {
          const next = target[k];
          put(x, (target[k] = next !== null && typeof next === 'object' ? next : {}) as Record<string, unknown>);
        }
      }
    };
    put(f.nested, into);
    return true;
  }

  /** The closing quote of the JSON string opening at `p` (before `end`), or -1. */
  private stringEnd(p: number, end: number): number {
    const b = this.buf;
    let q = b.indexOf(QUOTE, p + 1);
    for (;;) {
      if (q < 0 || q >= end) return -1;
      let n = 0;
      while (b[q - 1 - n] === 0x5c) n++;
      if (n % 2 === 0) return q;
      q = b.indexOf(QUOTE, q + 1);
    }
  }

  /**
   * Where each leaf of context `c` sits among its values (shared by every
   * context of the same template), e.g. "process.pid" → 0.
   */
  contextLeaves(c: number): ReadonlyMap<string, number> | undefined {
    const t = this.ctxTmpl[c];
    if (t === undefined || t < 0) return undefined;
    let m = this.leafIndex.get(t);
    if (!m) {
      m = new Map();
      const walk = (o: Template, prefix: string): void => {
        for (const k in o) {
          const x = o[k]!;
          const path = prefix ? `${prefix}.${k}` : k;
          if (x === 1) m!.set(path, m!.size);
          else if (x !== 0) walk(x, path);
        }
      };
      walk(this.templates[t]!, '');
      this.leafIndex.set(t, m);
    }
    return m;
  }

  /** Context `c` as an object, built afresh (not kept), or undefined when its definition is damaged. */
  parseContext(c: number): Record<string, unknown> | undefined {
    const values = this.contextValues(c);
    if (!values) return undefined;
    const at = { i: 0 };
    const o = fill(this.templates[this.ctxTmpl[c]!]!, values, at);
    return at.i === values.length ? o : undefined;
  }

  /** The values of context `c`, parsed once and kept (read only); undefined when damaged. */
  private cachedContextValues(c: number): unknown[] | undefined {
    let v = this.ctxValuesCache[c];
    if (v === undefined) {
      v = this.contextValues(c) ?? null;
      this.ctxValuesCache[c] = v;
    }
    return v ?? undefined;
  }

  /** Context `c`, parsed once and kept; undefined when damaged. */
  context(c: number): Record<string, unknown> | undefined {
    let v = this.ctxCache[c];
    if (v === undefined) {
      const values = this.cachedContextValues(c);
      const at = { i: 0 };
      const o = values && fill(this.templates[this.ctxTmpl[c]!]!, values, at);
      v = o && at.i === values.length ? o : null;
      this.ctxCache[c] = v;
    }
    return v ?? undefined;
  }

  /** Per event template: the paths of a record's own values, in order. */
  private readonly ownPaths = new Map<number, string[]>();

  /** Record i's template number (records of one template have the same keys in the same order). */
  templateOf(i: number): number {
    return this.tmplOf[i]!;
  }

  /** The dotted paths of record i's own values (the template's 1s, in order; shared, read only); undefined when damaged. */
  valuePaths(i: number): readonly string[] | undefined {
    const t = this.tmplOf[i]!;
    const tmpl = t >= 0 ? this.templates[t] : undefined;
    if (tmpl === undefined) return undefined;
    let paths = this.ownPaths.get(t);
    if (!paths) {
      const out: string[] = [];
      const walk = (o: Template, prefix: string): void => {
        for (const k in o) {
          const x = o[k]!;
          const path = prefix ? `${prefix}.${k}` : k;
          if (x === 1) out.push(path);
          else if (x !== 0) walk(x, path);
        }
      };
      walk(tmpl, '');
      this.ownPaths.set(t, (paths = out));
    }
    return paths;
  }

  /** Record i's own values, parsed afresh; undefined when they are not a JSON array. */
  ownValues(i: number): unknown[] | undefined {
    if (this.bad.has(i)) return undefined;
    try {
      const v: unknown = JSON.parse(this.buf.toString('utf8', this.valStart[i], this.valEnd[i]));
      return Array.isArray(v) ? v : undefined;
    } catch {
      return undefined;
    }
  }

  /** The record's @timestamp without parsing the rest of it. */
  timestamp(i: number): string | undefined {
    const s = this.tsStart[i]!;
    return s < 0 ? undefined : this.buf.toString('latin1', s, this.tsEnd[i]);
  }

  /** The canonical event of record i, with its own objects. Throws ESENSOR_CAPTURE_FORMAT when it is damaged. */
  materialize(i: number): SensorEvent {
    const bad = this.bad.get(i);
    if (bad) throw bad;
    try {
      return this.build(i);
    } catch (e) {
      // Values nested deep enough to exhaust the stack while copying them.
      if (e instanceof RangeError) throw this.err(i, `the record cannot be built (${e.message})`, e);
      throw e;
    }
  }

  private build(i: number): SensorEvent {
    let values: unknown;
    try {
      values = JSON.parse(this.buf.toString('utf8', this.valStart[i], this.valEnd[i]));
    } catch (e) {
      throw this.err(i, `the event values are not valid JSON (${(e as Error).message})`, e);
    }
    if (!Array.isArray(values)) throw this.err(i, 'the event values are not an array');
    const at = { i: 0 };
    const ev = fill(this.templates[this.tmplOf[i]!]!, values, at);
    if (at.i !== values.length) throw this.err(i, `${values.length} values for a template with ${at.i} places`);
    const ts = this.timestamp(i);
    if (ts !== undefined) this.restore(i, ev, '@timestamp', ts);
    const c = this.ctxOf[i]!;
    const cv = this.cachedContextValues(c);
    const ctxAt = { i: 0 };
    // Fresh objects for every event (the enricher changes them in place), built from values parsed once.
    const ctx = cv && fill(this.templates[this.ctxTmpl[c]!]!, cv, ctxAt, true);
    if (!ctx || ctxAt.i !== cv.length) throw this.err(i, `refers to context ${c}, whose definition is damaged`);
    for (const p in ctx) this.restore(i, ev, p, ctx[p]);
    const shape = this.shapes[this.shapeOf[i]!]!;
    const paths = this.flat.get(shape.t)!.paths;
    for (let k = 0; k < paths.length; k++) this.restore(i, ev, paths[k]!, cloneJson(shape.values[k]));
    const problem = eventProblem(ev);
    if (problem) throw this.err(i, `not a canonical event: ${problem}`);
    return ev as unknown as SensorEvent;
  }

  private restore(i: number, ev: Record<string, unknown>, path: string, value: unknown): void {
    const parts = splitPath(path);
    let o: unknown = ev;
    for (let k = 0; k < parts.length - 1; k++) {
      o = (o as Record<string, unknown>)[parts[k]!];
      if (o === null || typeof o !== 'object') throw this.err(i, `the event has no place for ${path}`);
    }
    const key = parts[parts.length - 1]!;
    const parent = o as Record<string, unknown>;
    if (parent[key] !== 0) throw this.err(i, `the event has no place for ${path}`);
    parent[key] = value;
  }
}

/** Reads one capture file; see the file comment. */
export class CaptureReader {
  readonly header: CaptureHeader;
  /** File size in bytes. */
  readonly size: number;
  /** Bytes consumed so far (progress). */
  position = 0;
  /** Event records returned or lost so far. */
  records = 0;
  /** Records lost to damage. */
  lost = 0;
  private fd: number;
  private buf = Buffer.allocUnsafe(1 << 20);
  private nextBlock = 1;
  private done = false;

  private constructor(
    readonly file: string,
    private readonly opts: CaptureReaderOptions,
  ) {
    try {
      this.fd = openSync(file, 'r');
      this.size = fstatSync(this.fd).size;
    } catch (e) {
      throw captureError(file, 'open', (e as Error).message, e);
    }
    try {
      this.header = this.readHeader();
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
  }

  /** Open and check the header. Throws ESENSOR_CAPTURE_FORMAT for a file that is not a capture of a version this sensor reads. */
  static open(file: string, opts: CaptureReaderOptions = {}): CaptureReader {
    return new CaptureReader(file, opts);
  }

  private read(at: number, n: number): Buffer {
    if (this.buf.length < n) this.buf = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
    let got = 0;
    while (got < n) {
      const r = readSync(this.fd, this.buf, got, n - got, at + got);
      if (r === 0) break;
      got += r;
    }
    return this.buf.subarray(0, got);
  }

  private readHeader(): CaptureHeader {
    const head = this.read(0, MEMBER_HEADER_BYTES);
    if (head.length < 2 || head[0] !== 0x1f || head[1] !== 0x8b) throw captureError(this.file, 'header', 'not a capture file (not gzip)');
    const info = parseMemberHeader(head);
    if (typeof info === 'string') throw captureError(this.file, 'header', `not a capture file: ${info}`);
    if (!(info.flags & BLOCK_FLAG_HEADER) || info.block !== 0) throw captureError(this.file, 'header', 'not a capture file: the first block is not a header');
    const member = this.read(0, info.memberBytes);
    if (member.length < info.memberBytes) throw captureError(this.file, 'header', 'the file is cut short inside its header');
    const text = this.inflate(member, info, 'header').toString('utf8');
    let h: unknown;
    try {
      h = JSON.parse(text);
    } catch (e) {
      throw captureError(this.file, 'header', `the header is not valid JSON (${(e as Error).message})`, e);
    }
    const o = h as Partial<CaptureHeader> | null;
    if (o === null || typeof o !== 'object' || o.format !== CAPTURE_FORMAT) throw captureError(this.file, 'header', 'not a capture file (no "format": "ebpf-sensor-capture")');
    if (o.version !== CAPTURE_VERSION) {
      throw captureError(this.file, 'header', `capture format version ${JSON.stringify(o.version)} is not supported (this sensor reads version ${CAPTURE_VERSION})`);
    }
    const v = validateHeader();
    if (!v(h)) {
      const e = v.errors?.[0];
      throw captureError(this.file, 'header', `the header is invalid: ${e?.instancePath || '(root)'} ${e?.message ?? ''}`.trim());
    }
    const enc = (h as CaptureHeader).encoding;
    const unsafe = [...enc.context, ...enc.shape].find(unsafePath);
    if (unsafe !== undefined) throw captureError(this.file, 'header', `the header is invalid: /encoding names the path ${JSON.stringify(unsafe)}, which is not allowed`);
    this.position = info.memberBytes;
    return h as CaptureHeader;
  }

  /** Check the trailer and inflate a member read whole. Throws a capture error naming `where`. */
  private inflate(member: Buffer, info: MemberInfo, where: string): Buffer {
    const end = info.memberBytes;
    const want = member.readUInt32LE(end - 4);
    const max = this.opts.maxBlockBytes ?? DEFAULT_MAX_BLOCK_BYTES;
    // Sizes first: a deflate bomb must cost nothing but this check.
    if (want > max) throw captureError(this.file, where, `the block inflates to ${want} bytes, more than the ${max} a block may hold`);
    let out: Buffer;
    try {
      // The output is capped at what the trailer says, so data that inflates further stops there.
      out = inflateRawSync(member.subarray(MEMBER_HEADER_BYTES, end - MEMBER_TRAILER_BYTES), { chunkSize: Math.max(64 << 10, Math.min(want, 64 << 20)), maxOutputLength: Math.max(want, 1) });
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? `it inflates to more than the ${want} bytes its trailer says` : (e as Error).message;
      throw captureError(this.file, where, `compressed data is damaged (${why})`, e);
    }
    if (out.length !== want) throw captureError(this.file, where, `inflates to ${out.length} bytes, its trailer says ${want}`);
    if (crc32(out) !== member.readUInt32LE(end - 8)) throw captureError(this.file, where, 'CRC-32 mismatch: the data is damaged');
    return out;
  }

  private damage(error: SensorError, records?: { from: number; to: number }): void {
    if (!this.opts.skipBad) throw error;
    if (records) this.lost += records.to - records.from + 1;
    this.opts.onDamage?.({ file: this.file, error, ...(records ? { records } : {}) });
  }

  private rangeText(from: number, to: number): string {
    return from === to ? `record ${from}` : `records ${from}–${to}`;
  }

  /** The next block, or undefined at the end. Damage throws, or (skipBad) is reported and skipped. */
  next(): CaptureBlock | undefined {
    while (!this.done) {
      const at = this.position;
      if (at >= this.size) {
        this.finish();
        return undefined;
      }
      const head = this.read(at, MEMBER_HEADER_BYTES);
      const info = parseMemberHeader(head);
      if (typeof info === 'string') {
        if (head.length < MEMBER_HEADER_BYTES) {
          this.truncatedAt(`the file ends inside a block header (cut short) after record ${this.records}`);
          return undefined;
        }
        this.damage(captureError(this.file, `after record ${this.records} (byte ${at})`, `damaged block header: ${info}`));
        this.resync(at + 1);
        continue;
      }
      const first = info.firstRecord + 1;
      const last = info.firstRecord + info.records;
      const span = info.records ? this.rangeText(first, last) : `block ${info.block}`;
      if (info.firstRecord > this.records) {
        this.damage(captureError(this.file, this.rangeText(this.records + 1, info.firstRecord), 'missing (a block was lost)'), {
          from: this.records + 1,
          to: info.firstRecord,
        });
        this.records = info.firstRecord;
      }
      if (at + info.memberBytes > this.size) {
        this.truncatedAt(`the file is cut short inside the block of ${span}`, info.records ? { from: Math.max(first, this.records + 1), to: last } : undefined);
        return undefined;
      }
      const max = this.opts.maxBlockBytes ?? DEFAULT_MAX_BLOCK_BYTES;
      // Deflate never grows data by more than a few bytes per 64 KiB stored block.
      if (info.memberBytes > max + (max >> 10) + 1024) {
        this.position = at + info.memberBytes;
        this.nextBlock = info.block + 1;
        this.records = Math.max(this.records, last);
        this.damage(captureError(this.file, span, `the block is ${info.memberBytes} bytes compressed, more than the ${max} a block may hold`), info.records ? { from: first, to: last } : undefined);
        continue;
      }
      const member = this.read(at, info.memberBytes);
      this.position = at + info.memberBytes;
      this.nextBlock = info.block + 1;
      let data: Buffer;
      try {
        data = this.inflate(member, info, span);
      } catch (e) {
        this.records = Math.max(this.records, last);
        this.damage(e as SensorError, info.records ? { from: first, to: last } : undefined);
        continue;
      }
      if (info.flags & BLOCK_FLAG_HEADER) continue;
      const block = new CaptureBlock(this.file, info.block, info.firstRecord, data, info.records);
      if (block.count !== info.records) {
        this.damage(captureError(this.file, span, `the block holds ${block.count} records, its header says ${info.records}`));
      }
      this.records = Math.max(this.records, info.firstRecord + block.count);
      return block;
    }
    return undefined;
  }

  /** After damage: find the next member that parses as one of ours. */
  private resync(from: number): void {
    const chunk = 1 << 20;
    for (let at = from; at < this.size; at += chunk - MEMBER_HEADER_BYTES) {
      const b = Buffer.from(this.read(at, chunk));
      for (let k = b.indexOf(0x1f); k >= 0 && k + MEMBER_HEADER_BYTES <= b.length; k = b.indexOf(0x1f, k + 1)) {
        const info = parseMemberHeader(b.subarray(k, k + MEMBER_HEADER_BYTES));
        if (typeof info !== 'string' && info.block >= this.nextBlock && info.firstRecord >= this.records) {
          this.position = at + k;
          return;
        }
      }
      if (b.length < chunk) break;
    }
    this.position = this.size;
  }

  private truncatedAt(message: string, records?: { from: number; to: number }): void {
    this.position = this.size;
    if (records) this.records = Math.max(this.records, records.to);
    this.damage(captureError(this.file, records ? this.rangeText(records.from, records.to) : `after record ${this.records}`, message), records);
    // What the header promised beyond the cut is missing too.
    this.finish();
  }

  private finish(): void {
    this.done = true;
    const h = this.header;
    if (h.closed !== null && h.events > this.records) {
      this.damage(captureError(this.file, this.rangeText(this.records + 1, h.events), `missing: the file ends after record ${this.records} but its header says it holds ${h.events} (cut short?)`), {
        from: this.records + 1,
        to: h.events,
      });
      this.records = h.events;
    }
  }

  /** The writer never closed the file (it crashed or was killed): the end may be missing. */
  get unclosed(): boolean {
    return this.header.closed === null;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
