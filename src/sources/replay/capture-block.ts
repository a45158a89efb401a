/**
 * One block of a capture (capture-format.ts), indexed from its inflated
 * bytes: definitions are parsed, event lines only located (context, shape,
 * timestamp, where the body is; capture-json.ts). Bodies are parsed when an
 * event is materialized (the template model: capture-template.ts), so a
 * reader that can decide from contexts and shapes alone never parses them.
 * Takes the bytes of one block; gives its records, damaged ones as
 * ESENSOR_CAPTURE_FORMAT errors naming the file and the record.
 */
import type { SensorError } from '../../errors.js';
import type { SensorEvent } from '../../model/event.js';
import { captureError, cloneJson } from './capture-format.js';
import { eventProblem } from './capture-checks.js';
import { arrayValuesAt, canonicalSpans, BRACKET_CLOSE, BRACKET_OPEN, COMMA, NEWLINE, parseOrUndefined, QUOTE, scanEventLine, type EventLine } from './capture-json.js';
import { checkTemplate, eachValueLeaf, fill, flatten, putFlat, restorePath, type FlatTemplate, type Template } from './capture-template.js';

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
  /** Why a template definition was refused, by number, and a context's for its template, by -1 - number (reported with the records using them). */
  private readonly templateWhy = new Map<number, string>();
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
  /** The last event line scanned (one object for every line). */
  private readonly scanned: EventLine = { ctx: 0, shape: 0, tmpl: 0, tsStart: -1, tsEnd: -1, valStart: 0, valEnd: 0 };

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
    const l = this.scanned;
    const why = scanEventLine(b, start, end, l);
    if (why) return why;
    this.grow(i + 1);
    this.ctxOf[i] = l.ctx;
    this.shapeOf[i] = l.shape;
    this.tmplOf[i] = l.tmpl;
    this.tsStart[i] = l.tsStart;
    this.tsEnd[i] = l.tsEnd;
    this.valStart[i] = l.valStart;
    this.valEnd[i] = l.valEnd;
    // Definitions come before their first use: check the three references (cheap when they are there).
    const { ctx, shape, tmpl } = l;
    if (ctx >= this.ctxStart.length || this.ctxStart[ctx]! < 0 || shape >= this.shapes.length || this.shapes[shape] === undefined || tmpl >= this.templates.length || this.templates[tmpl] === undefined) {
      this.bad.set(i, this.err(i, this.whyMissing(ctx, shape, tmpl)));
    }
    return 'event';
  }

  private whyMissing(ctx: number, shape: number, tmpl: number): string {
    const one = (what: string, id: number, table: readonly unknown[], damaged: boolean): string | undefined =>
      id >= table.length ? `refers to ${what} ${id}, which is not defined before it` : damaged ? `refers to ${what} ${id}, whose definition is damaged` : undefined;
    return (
      (ctx < this.ctxStart.length && this.templateWhy.has(-1 - ctx) ? `refers to context ${ctx}, whose definition is damaged: ${this.templateWhy.get(-1 - ctx)}` : undefined) ??
      one('context', ctx, this.ctxStart, (this.ctxStart[ctx] ?? 0) < 0) ??
      one('shape', shape, this.shapes, this.shapes[shape] === undefined) ??
      (tmpl < this.templates.length && this.templateWhy.has(tmpl) ? `refers to template ${tmpl}, whose definition is damaged: ${this.templateWhy.get(tmpl)}` : undefined) ??
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
        const why = this.templateWhy.get(t);
        if (why !== undefined) this.templateWhy.set(-1 - id, `its template ${t} ${why}`);
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
      value = parseOrUndefined(b, comma + 1, end - 1);
      const why = checkTemplate(value);
      ok = why === undefined;
      // Why a numbered template is refused (nested too deep, a forbidden key), for the records using it.
      if (why !== undefined && value !== undefined && id === table.length) this.templateWhy.set(id, why);
    } else {
      // ["s",id,template,[values]]: a flat template of dotted paths.
      const comma2 = comma > 0 ? b.indexOf(COMMA, comma + 1) : -1;
      const t = comma2 > 0 && comma2 < end ? Number(b.toString('latin1', comma + 1, comma2)) : NaN;
      const values = parseOrUndefined(b, comma2 + 1, end - 1);
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
    const v = parseOrUndefined(this.buf, s, this.ctxEnd[c]!);
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
    return arrayValuesAt(this.buf, start, this.ctxEnd[c]!, want);
  }

  /**
   * A flat template (shapes): its dotted paths in value order, where each
   * is, and how to build the nested partial event from the values.
   */
  private flatTemplate(t: number): FlatTemplate | undefined {
    let f = this.flat.get(t);
    if (f !== undefined) return f ?? undefined;
    const tmpl = this.templates[t];
    f = (tmpl && flatten(tmpl)) ?? null;
    this.flat.set(t, f);
    return f ?? undefined;
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

  /** Shape `s`'s event template number, its paths and its values (read only); undefined when the shape is damaged. */
  shapeDef(s: number): { t: number; paths: readonly string[]; values: readonly unknown[] } | undefined {
    const d = this.shapes[s];
    const f = d && this.flat.get(d.t);
    return d && f ? { t: d.t, paths: f.paths, values: d.values } : undefined;
  }

  /** Shape `s` set into `into` as nested objects (a partial event); false when the shape is damaged. */
  shapeInto(s: number, into: Record<string, unknown>): boolean {
    const d = this.shapes[s];
    const f = d && this.flat.get(d.t);
    if (!d || !f) return false;
    putFlat(f, d.values, into);
    return true;
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
      const leaves = new Map<string, number>();
      eachValueLeaf(this.templates[t]!, (path) => leaves.set(path, leaves.size));
      this.leafIndex.set(t, (m = leaves));
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

  /** The inflated bytes of the block (read only): what the offsets below point into. */
  get bytes(): Buffer {
    return this.buf;
  }

  /** Where record i's @timestamp string sits, without its quotes: [tsStartOf(i), tsEndOf(i)); -1 when null. */
  tsStartOf(i: number): number {
    return this.tsStart[i]!;
  }

  tsEndOf(i: number): number {
    return this.tsEnd[i]!;
  }

  /**
   * Where each of record i's own values sits in `bytes` (capture-json.ts
   * canonicalSpans: canonical JSON only); the number of values, or -1 (the
   * caller parses those with ownValues()).
   */
  ownSpans(i: number, spans: Int32Array): number {
    return this.bad.has(i) ? -1 : canonicalSpans(this.buf, this.valStart[i]!, this.valEnd[i]!, spans);
  }

  /** Per template number: its JSON, for definitionKey(). */
  private readonly templateTexts = new Map<number, string>();

  /**
   * What a context or event template of this block is, as a string equal for
   * equal definitions in any block (plans are kept across blocks by it);
   * undefined when damaged.
   */
  definitionKey(kind: 'context' | 'template', n: number): string | undefined {
    const t = kind === 'template' ? n : this.ctxTmpl[n];
    const tmpl = t !== undefined && t >= 0 ? this.templates[t] : undefined;
    if (tmpl === undefined) return undefined;
    let text = this.templateTexts.get(t!);
    if (text === undefined) this.templateTexts.set(t!, (text = JSON.stringify(tmpl)));
    return kind === 'template' ? text : `${text}\n${this.buf.toString('latin1', this.ctxStart[n], this.ctxEnd[n])}`;
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
    if (!restorePath(ev, path, value)) throw this.err(i, `the event has no place for ${path}`);
  }
}
