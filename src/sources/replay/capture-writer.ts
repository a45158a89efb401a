/**
 * Writes capture files (capture-format.ts): canonical events in, a gzip
 * file of record blocks out. Used by `ebpf-sensor run --capture` (the live
 * sensor records what it sees) and `journal export`.
 *
 * Encoding is synchronous and cheap to call per batch; compression runs in
 * libuv's thread pool and blocks are written in order. At most
 * `maxPendingBlocks` blocks wait for compression: past that, blocks are
 * compressed on the caller's thread, so a writer that cannot keep up slows
 * its producer instead of growing without bound.
 */
import { closeSync, fsyncSync, openSync, write as fsWrite, writeSync } from 'node:fs';
import { crc32, deflateRaw, deflateRawSync } from 'node:zlib';
import { SensorError } from '../../errors.js';
import type { SensorEvent } from '../../model/event.js';
import {
  BLOCK_FLAG_HEADER,
  CAPTURE_FORMAT,
  CAPTURE_VERSION,
  CONTEXT_PATHS,
  SHAPE_PATHS,
  encodeMember,
  splitPath,
  storedDeflate,
  type CaptureHeader,
} from './capture-format.js';

/** What the caller says about the capture; the writer fills in the rest. */
export type CaptureHeaderInit = Pick<CaptureHeader, 'sensor' | 'host' | 'agent' | 'source' | 'lists'> & { created?: string };

export interface CaptureWriterOptions {
  header: CaptureHeaderInit;
  /** Seal a block once its text reaches this many bytes (default 16 MiB: definitions are repeated per block). */
  blockBytes?: number;
  /** Also seal a non-empty block this often (ms), so a crash loses little (live capture). */
  flushMs?: number;
  /** deflate level 1–9 (default 6). */
  level?: number;
  maxPendingBlocks?: number;
  /** A write failed: called once; the writer drops what follows. */
  onError?: (e: SensorError) => void;
}

export interface CaptureSummary {
  file: string;
  events: number;
  blocks: number;
  bytes: number;
  from: string | null;
  to: string | null;
}

/** Where a hoisted value sits in the event: its parent object, key and value. */
type Slot = [parent: Record<string, unknown>, key: string, value: unknown];

/** Stands for a hoisted value while an event is walked (any real value may be 0). */
const HOISTED: unique symbol = Symbol('hoisted');

const keyText = new Map<string, string>();
function jsonKey(k: string): string {
  let t = keyText.get(k);
  if (t === undefined) {
    t = JSON.stringify(k);
    if (keyText.size < 4096) keyText.set(k, t);
  }
  return t;
}

/**
 * The template of an object: its keys in order, with 0 where a value was
 * hoisted, 1 where the event has its own value (pushed to `values`, in
 * order), and nested templates for nested objects. Arrays are values.
 */
function template(o: Record<string, unknown>, values: unknown[]): string {
  let s = '{';
  for (const k in o) {
    const v = o[k];
    if (v === undefined || typeof v === 'function') continue; // as JSON.stringify
    if (s.length > 1) s += ',';
    s += jsonKey(k);
    if (v === HOISTED) s += ':0';
    else if (v !== null && typeof v === 'object' && !Array.isArray(v)) s += `:${template(v as Record<string, unknown>, values)}`;
    else {
      s += ':1';
      values.push(v);
    }
  }
  return `${s}}`;
}

/** Encodes events into the text of one block (definitions scoped to it). */
class BlockEncoder {
  private readonly contexts = new Map<string, number>();
  private readonly shapes = new Map<string, number>();
  private readonly templates = new Map<string, number>();
  private parts: string[] = [];
  bytes = 0;
  records = 0;
  lines = 0;
  private readonly slots: Slot[] = [];

  constructor(
    private readonly contextPaths: readonly string[],
    private readonly shapePaths: readonly string[],
  ) {}

  /** Detach the value at `path` into `into` and mark its place. */
  private hoist(ev: SensorEvent, path: string, into: Record<string, unknown>): void {
    const parts = splitPath(path);
    let o: unknown = ev;
    for (let i = 0; i < parts.length - 1; i++) {
      o = (o as Record<string, unknown>)[parts[i]!];
      if (o === null || typeof o !== 'object' || Array.isArray(o)) return;
    }
    const parent = o as Record<string, unknown>;
    const key = parts[parts.length - 1]!;
    const v = parent[key];
    if (v === undefined) return;
    into[path] = v;
    this.slots.push([parent, key, v]);
    parent[key] = HOISTED;
  }

  add(ev: SensorEvent): void {
    const ctx: Record<string, unknown> = {};
    const shape: Record<string, unknown> = {};
    const e = ev as unknown as Record<string, unknown>;
    const ts = e['@timestamp'];
    const values: unknown[] = [];
    let ctxTmpl: string;
    let ctxValues: string;
    let shapeTmpl: string;
    let shapeValues: string;
    let tmplText: string;
    let valuesText: string;
    try {
      for (const p of this.contextPaths) this.hoist(ev, p, ctx);
      for (const p of this.shapePaths) this.hoist(ev, p, shape);
      if (typeof ts === 'string') {
        this.slots.push([e, '@timestamp', ts]);
        e['@timestamp'] = HOISTED;
      }
      // The hoisted values are detached: stringify them from their own objects.
      // A context is written as a template and its values, like an event: flat, so cheap to read.
      const cv: unknown[] = [];
      ctxTmpl = template(ctx, cv);
      ctxValues = JSON.stringify(cv);
      const sv: unknown[] = [];
      shapeTmpl = template(shape, sv);
      shapeValues = JSON.stringify(sv);
      tmplText = template(e, values);
      valuesText = JSON.stringify(values);
    } finally {
      // The event belongs to the pipeline: give every value back, in reverse.
      for (let i = this.slots.length - 1; i >= 0; i--) {
        const [parent, key, v] = this.slots[i]!;
        parent[key] = v;
      }
      this.slots.length = 0;
    }
    const ct = this.define(this.templates, 't', ctxTmpl);
    const c = this.define(this.contexts, 'c', `${ct},${ctxValues}`);
    const st = this.define(this.templates, 't', shapeTmpl);
    const s = this.define(this.shapes, 's', `${st},${shapeValues}`);
    const t = this.define(this.templates, 't', tmplText);
    this.push(`[${c},${s},${t},${typeof ts === 'string' ? JSON.stringify(ts) : 'null'},${valuesText}]\n`);
    this.records++;
  }

  private define(table: Map<string, number>, kind: string, text: string): number {
    let id = table.get(text);
    if (id === undefined) {
      id = table.size;
      table.set(text, id);
      this.push(`["${kind}",${id},${text}]\n`);
    }
    return id;
  }

  private push(line: string): void {
    this.parts.push(line);
    this.bytes += line.length;
    this.lines++;
  }

  take(): Buffer {
    const b = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    return b;
  }
}

/** One capture file being written. */
export class CaptureWriter {
  readonly file: string;
  private fd: number;
  private readonly header: CaptureHeader;
  private readonly headerBytes: number;
  private readonly blockBytes: number;
  private readonly level: number;
  private readonly maxPending: number;
  private block: BlockEncoder;
  private offset: number;
  private records = 0;
  private blocks = 0;
  private pending = 0;
  private tail: Promise<void> = Promise.resolve();
  private error: SensorError | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private from: string | null = null;
  private to: string | null = null;

  private constructor(
    file: string,
    private readonly opts: CaptureWriterOptions,
  ) {
    this.file = file;
    this.blockBytes = opts.blockBytes ?? 16 << 20;
    this.level = opts.level ?? 6;
    this.maxPending = opts.maxPendingBlocks ?? 4;
    this.block = new BlockEncoder(CONTEXT_PATHS, SHAPE_PATHS);
    this.header = {
      format: CAPTURE_FORMAT,
      version: CAPTURE_VERSION,
      sensor: opts.header.sensor,
      host: opts.header.host,
      agent: opts.header.agent,
      created: opts.header.created ?? new Date().toISOString(),
      closed: null,
      source: opts.header.source,
      time: { from: null, to: null },
      events: 0,
      blocks: 0,
      lists: opts.header.lists,
      encoding: { context: [...CONTEXT_PATHS], shape: [...SHAPE_PATHS] },
    };
    try {
      this.fd = openSync(file, 'w', 0o600);
    } catch (e) {
      throw new SensorError('ESENSOR_OUTPUT', `cannot create capture file ${file}: ${(e as Error).message}`, { file, cause: e });
    }
    // Room for what closing adds (counts, times): the header member never grows.
    const first = JSON.stringify(this.header);
    this.headerBytes = Math.ceil((Buffer.byteLength(first) + 1 + 512) / 512) * 512;
    const member = this.headerMember();
    try {
      this.writeAt(member, 0);
    } catch (e) {
      closeSync(this.fd);
      throw new SensorError('ESENSOR_OUTPUT', `cannot write capture file ${file}: ${(e as Error).message}`, { file, cause: e });
    }
    this.offset = member.length;
    if (opts.flushMs) {
      this.timer = setInterval(() => {
        if (this.block.records > 0) this.seal();
      }, opts.flushMs);
      this.timer.unref();
    }
  }

  /** Create (truncate) `file`, 0600: captures hold what the host did. */
  static create(file: string, opts: CaptureWriterOptions): CaptureWriter {
    return new CaptureWriter(file, opts);
  }

  get eventsWritten(): number {
    return this.records + this.block.records;
  }

  /**
   * Append events (encoded now: the caller may change them afterwards).
   * Never throws: a recording that fails stops (onError is told once) and
   * leaves the caller — the live pipeline — running.
   */
  write(events: readonly SensorEvent[]): void {
    if (this.closed || this.error) return;
    try {
      for (const ev of events) {
        const ts = ev['@timestamp'];
        if (typeof ts === 'string') {
          if (this.from === null || ts < this.from) this.from = ts;
          if (this.to === null || ts > this.to) this.to = ts;
        }
        this.block.add(ev);
        if (this.block.bytes >= this.blockBytes) this.seal();
      }
    } catch (e) {
      this.fail(e);
    }
  }

  /** Resolves when fewer than maxPendingBlocks blocks wait (exporters await it between batches). */
  async drain(): Promise<void> {
    while (this.pending >= this.maxPending) await this.tail;
  }

  /** Seal the current block and wait until everything is written. */
  async flush(): Promise<void> {
    if (this.block.records > 0) this.seal();
    await this.tail;
    if (this.error) throw this.error;
  }

  /** Write the last block, rewrite the header (counts, time range, closed), fsync and close. */
  async close(): Promise<CaptureSummary> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.closed) {
      if (this.block.records > 0) this.seal();
      this.closed = true;
      await this.tail;
      if (!this.error) {
        this.header.closed = new Date().toISOString();
        this.header.events = this.records;
        this.header.blocks = this.blocks;
        this.header.time = { from: this.from, to: this.to };
        try {
          this.writeAt(this.headerMember(), 0);
          fsyncSync(this.fd);
        } catch (e) {
          this.fail(e);
        }
      }
      closeSync(this.fd);
      this.fd = -1;
    }
    if (this.error) throw this.error;
    return { file: this.file, events: this.records, blocks: this.blocks, bytes: this.offset, from: this.from, to: this.to };
  }

  private headerMember(): Buffer {
    const json = JSON.stringify(this.header);
    const len = Buffer.byteLength(json);
    if (len + 1 > this.headerBytes) throw new SensorError('ESENSOR_INTERNAL', `capture header outgrew its ${this.headerBytes} bytes`);
    const text = Buffer.alloc(this.headerBytes, 0x20);
    text.write(json, 0, 'utf8');
    text[this.headerBytes - 1] = 0x0a;
    return encodeMember({ block: 0, firstRecord: 0, records: 0, lines: 1, flags: BLOCK_FLAG_HEADER }, storedDeflate(text), crc32(text), text.length);
  }

  private seal(): void {
    const enc = this.block;
    this.block = new BlockEncoder(CONTEXT_PATHS, SHAPE_PATHS);
    if (this.error) return;
    const info = { block: ++this.blocks, firstRecord: this.records, records: enc.records, lines: enc.lines, flags: 0 };
    this.records += enc.records;
    const raw = enc.take();
    const crc = crc32(raw);
    let deflated: Promise<Buffer>;
    if (this.pending >= this.maxPending) {
      deflated = Promise.resolve(deflateRawSync(raw, { level: this.level }));
    } else {
      deflated = new Promise((resolve, reject) => deflateRaw(raw, { level: this.level }, (e, d) => (e ? reject(e) : resolve(d))));
    }
    this.pending++;
    // Compression of this block may overlap earlier writes; the writes stay in order.
    this.tail = this.tail.then(async () => {
      try {
        const d = await deflated;
        if (this.error) return;
        const member = encodeMember(info, d, crc, raw.length);
        const at = this.offset;
        this.offset += member.length;
        await new Promise<void>((resolve, reject) => fsWrite(this.fd, member, 0, member.length, at, (e) => (e ? reject(e) : resolve())));
      } catch (e) {
        this.fail(e);
      } finally {
        this.pending--;
      }
    });
  }

  private writeAt(buf: Buffer, at: number): void {
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off, at + off);
  }

  private fail(e: unknown): void {
    if (this.error) return;
    const code = (e as NodeJS.ErrnoException).code;
    this.error =
      e instanceof SensorError
        ? e
        : new SensorError('ESENSOR_OUTPUT', `cannot write capture file ${this.file}: ${(e as Error).message}`, { file: this.file, cause: e, retriable: code === 'ENOSPC' });
    this.opts.onError?.(this.error);
  }
}
