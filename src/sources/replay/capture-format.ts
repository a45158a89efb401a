/**
 * The capture file format, version 1 (docs/replay.md, schemas/capture.schema.json).
 *
 * A capture is a gzip file (RFC 1952) made of independent members, like
 * BGZF: `zcat` reads it as NDJSON. Member 0 holds the header, one JSON line
 * padded with spaces and stored without compression, so it can be rewritten
 * in place when the capture is closed (event count, time range). Every other
 * member is a block of records, compressed with deflate. Each member carries
 * a gzip extra subfield "ES" saying how long the member is, which block it
 * is and which records it holds, so a reader can check each block on its own
 * (CRC-32 and length), name the record where damage starts, and skip a
 * damaged block to the next one.
 *
 * Records are NDJSON lines. Facts repeated across events are written once
 * per block as definitions and referenced by number:
 *
 *   ["t",0,{"process":{"pid":1,"entity_id":1,…},"user":{"id":1},…}]          template 0
 *   ["c",0,0,[4242,"Qm9vdA…",…]]                                             context 0 (template 0, values)
 *   ["t",1,{"ebpf.kind":1,"event.action":1,"event.outcome":1,"file.path":1,…}]   template 1
 *   ["s",0,1,["open","openat","success","/etc/passwd",…]]                    shape 0 (template 1, values)
 *   ["t",2,{"@timestamp":0,"event":{"id":1,"sequence":1,"action":0,…},"process":0,…}]     template 2
 *   [0,0,2,"2026-11-23T16:12:00.123456789Z",["a1b2…",17,…]]                 an event
 *
 * Contexts and shapes are written like events, as a template and their
 * values (flat JSON: several times cheaper to parse than nested objects,
 * and a reader can take the few facts it needs by position).
 * An event line is [context, shape, template, @timestamp, values]. The
 * template is the event's keys in order, with 1 where the event has its own
 * value (taken from `values` in order) and 0 where the context, the shape or
 * the timestamp holds it; filling both in gives the canonical event exactly,
 * key order included. Contexts hold what enrichment derives from the
 * process; shapes what rules test most (kind, action, outcome, path …), so a
 * reader can decide from them alone whether a rule may match an event. Which
 * fields go to contexts and shapes is listed in the header (`encoding`), so
 * readers need no fixed list. Definitions are scoped to their block: a block
 * can be read without any other.
 */
import { SensorError } from '../../errors.js';
import type { AgentInfo, HostInfo } from '../../model/event.js';
import { DEFAULT_INPUT_LIMITS } from '../../model/limits.js';

export const CAPTURE_FORMAT = 'ebpf-sensor-capture';
export const CAPTURE_VERSION = 1;

/**
 * Fields kept per process context: everything enrichment derives from the
 * process, the same for every event of one thread of one program image.
 */
export const CONTEXT_PATHS: readonly string[] = ['process', 'user', 'group', 'ebpf.process', 'container'];

/**
 * Fields kept per shape: what detection rules test most, with few distinct
 * values (kind, action, outcome, path, intent …). Replay decides from these
 * alone, without reading the body, whether a rule can match an event.
 */
export const SHAPE_PATHS: readonly string[] = [
  'ebpf.kind',
  'event.action',
  'event.outcome',
  'ebpf.syscall',
  'ebpf.path_source',
  'ebpf.open.flags',
  'ebpf.open.flag_names',
  'ebpf.open.intent',
  'ebpf.open.dirfd',
  'file.path',
  'file.name',
  'file.directory',
  'file.extension',
  'ebpf.exec.filename',
  'network.type',
  'network.transport',
  'network.direction',
  'ebpf.chmod.mode',
  'ebpf.ptrace.request_name',
  'ebpf.bpf.cmd_name',
  'ebpf.mount.source',
  'ebpf.mount.fstype',
  'ebpf.namespaces.names',
  'ebpf.ids.requested',
  'ebpf.error',
];

/** The header line: what recorded the events, where, and over which time. */
export interface CaptureHeader {
  format: typeof CAPTURE_FORMAT;
  version: number;
  sensor: { version: string };
  /** The recording host: replayed documents carry it, so output is the same on any machine. */
  host: HostInfo;
  agent: AgentInfo;
  /** When recording started (ISO-8601). */
  created: string;
  /** When the file was closed; null when the writer stopped without closing it (crash). */
  closed: string | null;
  source: {
    kind: 'live' | 'journal';
    /** journal export: the journal directory and the range and filter asked for. */
    journal?: string;
    since?: string | null;
    until?: string | null;
    filter?: string | null;
  };
  /** @timestamp of the first and last event written (null: none, or not closed). */
  time: { from: string | null; to: string | null };
  /** Event records in the file (valid when closed). */
  events: number;
  /** Record blocks in the file (valid when closed). */
  blocks: number;
  /** The runtime rule lists of the recording sensor (its pid and files), so sensor rules replay as they ran. */
  lists: Record<string, string[]>;
  encoding: { context: string[]; shape: string[] };
}

// ---- gzip members ----------------------------------------------------------

/** Bytes of a member header: 10 fixed, 2 XLEN, 4 subfield header, 28 subfield data. */
export const MEMBER_HEADER_BYTES = 44;
export const MEMBER_TRAILER_BYTES = 8;
const XLEN = 32;
const SUBFIELD_LEN = 28;
/** Largest member a reader accepts (a writer makes blocks of a few MiB). */
export const MAX_MEMBER_BYTES = 256 << 20;

export const BLOCK_FLAG_HEADER = 1;

/** What the "ES" subfield of a member says. */
export interface MemberInfo {
  /** Total size of the member in bytes, header and trailer included. */
  memberBytes: number;
  /** 0 for the header member, then 1, 2, … */
  block: number;
  /** Number of event records before this block. */
  firstRecord: number;
  /** Event records in this block. */
  records: number;
  /** Lines in this block (definitions and events). */
  lines: number;
  flags: number;
}

/** Build one gzip member around already deflated data. */
export function encodeMember(info: Omit<MemberInfo, 'memberBytes'>, deflated: Buffer, crc: number, rawBytes: number): Buffer {
  const total = MEMBER_HEADER_BYTES + deflated.length + MEMBER_TRAILER_BYTES;
  const out = Buffer.allocUnsafe(total);
  out[0] = 0x1f;
  out[1] = 0x8b;
  out[2] = 8; // deflate
  out[3] = 4; // FEXTRA
  out.writeUInt32LE(0, 4); // MTIME: none, so equal content gives equal bytes
  out[8] = 0; // XFL
  out[9] = 3; // OS: Unix
  out.writeUInt16LE(XLEN, 10);
  out[12] = 0x45; // 'E'
  out[13] = 0x53; // 'S'
  out.writeUInt16LE(SUBFIELD_LEN, 14);
  out.writeUInt32LE(total, 16);
  out.writeUInt32LE(info.block, 20);
  out.writeUInt32LE(info.firstRecord % 2 ** 32, 24);
  out.writeUInt32LE(Math.floor(info.firstRecord / 2 ** 32), 28);
  out.writeUInt32LE(info.records, 32);
  out.writeUInt32LE(info.lines, 36);
  out.writeUInt32LE(info.flags, 40);
  deflated.copy(out, MEMBER_HEADER_BYTES);
  out.writeUInt32LE(crc >>> 0, total - 8);
  out.writeUInt32LE(rawBytes % 2 ** 32, total - 4);
  return out;
}

/** Why a member header is not ours, or its fields. */
export function parseMemberHeader(b: Buffer): MemberInfo | string {
  if (b.length < 4 || b[0] !== 0x1f || b[1] !== 0x8b) return 'no gzip member starts here';
  if (b[2] !== 8) return `gzip compression method ${b[2]} is not deflate`;
  const ours = 'the gzip member has no "ES" block information (not written by ebpf-sensor)';
  if (b[3] !== 4) return ours;
  if (b.length < MEMBER_HEADER_BYTES) return 'too short for a block header';
  if (b.readUInt16LE(10) !== XLEN || b[12] !== 0x45 || b[13] !== 0x53 || b.readUInt16LE(14) !== SUBFIELD_LEN) return ours;
  const memberBytes = b.readUInt32LE(16);
  if (memberBytes < MEMBER_HEADER_BYTES + MEMBER_TRAILER_BYTES || memberBytes > MAX_MEMBER_BYTES) return `block length ${memberBytes} is impossible`;
  return {
    memberBytes,
    block: b.readUInt32LE(20),
    firstRecord: b.readUInt32LE(24) + b.readUInt32LE(28) * 2 ** 32,
    records: b.readUInt32LE(32),
    lines: b.readUInt32LE(36),
    flags: b.readUInt32LE(40),
  };
}

/**
 * Deflate "stored" blocks (RFC 1951 3.2.4): the data uncompressed, so a
 * member's size depends only on the data's length — what lets the header be
 * rewritten in place.
 */
export function storedDeflate(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let off = 0;
  do {
    const n = Math.min(65535, data.length - off);
    const h = Buffer.allocUnsafe(5);
    h[0] = off + n >= data.length ? 1 : 0; // BFINAL, BTYPE 00
    h.writeUInt16LE(n, 1);
    h.writeUInt16LE(~n & 0xffff, 3);
    parts.push(h, data.subarray(off, off + n));
    off += n;
  } while (off < data.length);
  return Buffer.concat(parts);
}

// ---- records ---------------------------------------------------------------

/**
 * Keys a capture may never use in a template or path: assigning them on a
 * plain object changes its prototype (or Object.prototype itself, through
 * `o.__proto__.x = …`), which a hostile capture would use to change how
 * every later event of the run is handled.
 */
const UNSAFE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** True when a key, or a part of a dotted path, is one a capture may not use. */
export function unsafePath(path: string): boolean {
  if (UNSAFE_KEYS.has(path)) return true;
  if (!path.includes('.')) return false;
  for (const part of path.split('.')) if (UNSAFE_KEYS.has(part)) return true;
  return false;
}

/**
 * Default bound on one block's inflated size (a writer makes blocks of about
 * 16 MiB): what a reader holds in memory at once. A block whose trailer
 * claims more, or whose data inflates past its trailer, is damaged.
 */
export const DEFAULT_MAX_BLOCK_BYTES = 64 << 20;

/** How deep a template may nest by default (events nest five levels or so; src/model/limits.ts). */
export const MAX_TEMPLATE_DEPTH = DEFAULT_INPUT_LIMITS.templateDepth;

/** Split dotted paths once. */
const splitCache = new Map<string, readonly string[]>();
export function splitPath(path: string): readonly string[] {
  let p = splitCache.get(path);
  if (!p) {
    p = Object.freeze(path.split('.'));
    splitCache.set(path, p);
  }
  return p;
}

/** The value at a dotted path of a plain object, or undefined. */
export function getPath(obj: unknown, path: string): unknown {
  let o = obj;
  for (const k of splitPath(path)) {
    if (o === null || typeof o !== 'object') return undefined;
    o = (o as Record<string, unknown>)[k];
  }
  return o;
}

/** Set a dotted path, creating the objects on the way (partial events for prefiltering). */
export function setPathCreating(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = splitPath(path);
  let o = obj;
  for (let i = 0; i < parts.length - 1; i++) {
    const k = parts[i]!;
    let n = o[k];
    if (n === null || typeof n !== 'object') {
      n = {};
      o[k] = n;
    }
    o = n as Record<string, unknown>;
  }
  o[parts[parts.length - 1]!] = value;
}

/** A deep copy of a JSON value (definitions are shared; each event gets its own objects). */
export function cloneJson<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    const a = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) a[i] = cloneJson(v[i]);
    return a as T;
  }
  const o: Record<string, unknown> = {};
  for (const k in v) o[k] = cloneJson((v as Record<string, unknown>)[k]);
  return o as T;
}

/** A capture problem at a record (1-based, as users count). */
export function captureError(file: string, where: string, message: string, cause?: unknown): SensorError {
  return new SensorError('ESENSOR_CAPTURE_FORMAT', `${where}: ${message}`, { file, ...(cause !== undefined ? { cause } : {}) });
}
