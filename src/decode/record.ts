/**
 * decode, reading one record: string slots, argument slots and paths.
 *
 * Takes: a kernel record at rec[base, base+recLen), laid out as
 * bpf/abi/sensor_abi.h says (offsets from abi.generated.ts). Gives: the
 * accessors the family decoders (process.ts, open.ts, file-ops.ts,
 * priv.ts, net.ts, hooks.ts) read it with, and the path helpers they share.
 */
import { posix } from 'node:path';
import { SensorError } from '../errors.js';
import type { EbpfFacts, EventKind, FileInfo, SensorEvent } from '../model/event.js';
import { decodeRaw } from '../model/raw-text.js';
import { OFFSETOF, SIZEOF, RecordFlags, StrFlags } from './abi.generated.js';
import type { RecordView } from './hooks.js';
import { PathStr } from './slots.js';
import type { WallClock } from './wall-clock.js';

const E = OFFSETOF.se_event;
const S = OFFSETOF.se_str;
const STR_SIZE = SIZEOF.se_str;

export interface StrSlot {
  off: number;
  len: number;
  flags: number;
}

/** One record as the family decoders read it (built once per record by decodeRecord). */
export interface FamilyRecord {
  readonly rec: Buffer;
  readonly base: number;
  readonly recLen: number;
  readonly kind: EventKind;
  /** The syscall's name (ebpf.syscall). */
  readonly action: string;
  /** args[ARG_SYSCALL] (enum se_syscall; 0 when the family has one syscall). */
  readonly sc: number;
  readonly outcome: 'success' | 'failure' | 'unknown';
  /** Record flags (enum se_record_flags). */
  readonly hflags: number;
  readonly slots: ReadonlyArray<StrSlot | undefined>;
  readonly clock: WallClock;
  /** String slot i as text (undefined: absent); `field` names it in ebpf.truncated when cut. */
  text(i: number, field: string): string | undefined;
  /** Fields cut short, in the order met (ebpf.truncated). */
  readonly truncated: string[];
}

/**
 * The FamilyRecord decodeRecord hands the family decoders: one object for
 * every record, reset per record, whose string slots are four objects of its
 * own. Built per record, the record view, its slot array and slot objects,
 * the `text` closure and the truncated list were ≈ 300 bytes an event that
 * nothing read after decode (issue-14 point 6). Valid only during one
 * decodeRecord call: a decoder keeps what it reads, never the slots or the
 * cursor (none is reentrant: decode is synchronous).
 */
export class RecordCursor implements FamilyRecord {
  rec: Buffer = Buffer.alloc(0);
  base = 0;
  recLen = 0;
  kind: EventKind = 'exec';
  action = '';
  sc = 0;
  outcome: 'success' | 'failure' | 'unknown' = 'success';
  hflags = 0;
  clock: WallClock = undefined as unknown as WallClock;
  /** slots[i]: slotObjs[i] when slot i is present, else undefined. */
  readonly slots: Array<StrSlot | undefined>;
  readonly truncated: string[] = [];
  private readonly slotObjs: StrSlot[];

  constructor(slotCount: number) {
    this.slots = new Array<StrSlot | undefined>(slotCount).fill(undefined);
    this.slotObjs = Array.from({ length: slotCount }, () => ({ off: 0, len: 0, flags: 0 }));
  }

  /**
   * Start on the record at rec[base, base+recLen): reads every string slot
   * (throwing ESENSOR_DECODE on one past the record, as readStr does) and
   * empties the truncated list.
   */
  reset(rec: Buffer, base: number, recLen: number): void {
    this.rec = rec;
    this.base = base;
    this.recLen = recLen;
    this.truncated.length = 0;
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) {
      const o = base + E.str + i * STR_SIZE;
      const flags = rec.readUInt16LE(o + S.flags);
      if (!(flags & StrFlags.SE_STR_PRESENT)) {
        slots[i] = undefined;
        continue;
      }
      const off = rec.readUInt16LE(o + S.off);
      const len = rec.readUInt16LE(o + S.len);
      if (off + len > recLen) {
        throw new SensorError('ESENSOR_DECODE', `string slot ${i} [${off}, ${off + len}) exceeds record of ${recLen} bytes`);
      }
      const s = this.slotObjs[i]!;
      s.off = off;
      s.len = len;
      s.flags = flags;
      slots[i] = s;
    }
  }

  text(i: number, field: string): string | undefined {
    const s = this.slots[i];
    if (s && s.flags & StrFlags.SE_STR_TRUNCATED) this.truncated.push(field);
    return strText(this.rec, this.base, s);
  }
}

/** A family decoder: completes `ev` (and its `facts`) from the record. */
export type FamilyDecoder = (r: FamilyRecord, ev: SensorEvent, facts: EbpfFacts) => void;

export function readStr(rec: Buffer, base: number, slot: number, recLen: number): StrSlot | undefined {
  const o = base + E.str + slot * STR_SIZE;
  const flags = rec.readUInt16LE(o + S.flags);
  if (!(flags & StrFlags.SE_STR_PRESENT)) return undefined;
  const off = rec.readUInt16LE(o + S.off);
  const len = rec.readUInt16LE(o + S.len);
  if (off + len > recLen) {
    throw new SensorError('ESENSOR_DECODE', `string slot ${slot} [${off}, ${off + len}) exceeds record of ${recLen} bytes`);
  }
  return { off, len, flags };
}

export function strText(rec: Buffer, base: number, s: StrSlot | undefined): string | undefined {
  if (!s || s.len === 0) return s && s.flags & StrFlags.SE_STR_FAULT ? undefined : s ? '' : undefined;
  return decodeRaw(rec, base + s.off, base + s.off + s.len);
}

/** Zeros that pad a decimal of n digits to nine. */
const PAD9 = ['000000000', '00000000', '0000000', '000000', '00000', '0000', '000', '00', '0', ''];

/**
 * u64 at rec[o] as a decimal string (exact). Below 2^53 the value is cut
 * into seconds and nanoseconds (both small integers) and written from them:
 * boot-clock ns are 14-digit numbers whose decimal text as a double costs
 * about twice as much (issue-14). Above, BigInt.
 */
export function u64String(rec: Buffer, o: number): string {
  const lo = rec.readUInt32LE(o);
  const hi = rec.readUInt32LE(o + 4);
  if (hi >= 0x200000) return rec.readBigUInt64LE(o).toString();
  const n = hi * 4294967296 + lo;
  if (n < 1e9) return String(n);
  // n / 1e9 is rounded: the quotient is corrected so that 0 <= r < 1e9 (all exact below 2^53).
  let sec = Math.floor(n / 1e9);
  let r = n - sec * 1e9;
  if (r < 0) {
    sec--;
    r += 1e9;
  } else if (r >= 1e9) {
    sec++;
    r -= 1e9;
  }
  const f = String(r);
  return `${sec}${PAD9[f.length]}${f}`;
}

/**
 * u64String of values that repeat — process starts (a process's own, its
 * parent's, a fork's child's met again at its exit) and cgroup ids — with
 * the recent answers kept in a small direct-mapped table: the same string
 * for the same value, instead of three new decimal strings an event
 * (issue-14 point 6). Values above 2^53 are not kept.
 */
export class U64Strings {
  private readonly lo = new Float64Array(256).fill(-1);
  private readonly hi = new Float64Array(256).fill(-1);
  private readonly text: string[] = new Array<string>(256).fill('');

  of(rec: Buffer, o: number): string {
    const lo = rec.readUInt32LE(o);
    const hi = rec.readUInt32LE(o + 4);
    const k = (lo ^ (lo >>> 8) ^ (lo >>> 16) ^ hi) & 255;
    if (this.lo[k] === lo && this.hi[k] === hi) return this.text[k]!;
    const s = u64String(rec, o);
    this.lo[k] = lo;
    this.hi[k] = hi;
    this.text[k] = s;
    return s;
  }
}

/**
 * Tasks' comms as text, the recent ones kept (eight slots, picked by the
 * length and first bytes): a storm's records name a few comms over and over,
 * and each was a new string through a native toString (issue-14 point 6).
 * Compared byte by byte (at most 16); copied by a loop, since Buffer.copy of
 * a range makes a view per call.
 */
export class CommStrings {
  private readonly bytes = new Uint8Array(8 * 16);
  private readonly lens = new Int8Array(8).fill(-1);
  private readonly text: string[] = new Array<string>(8).fill('');

  of(rec: Buffer, start: number, end: number): string {
    const n = end - start;
    if (n > 16) return decodeRaw(rec, start, end);
    const k = (n ^ (n > 0 ? rec[start]! : 0) ^ (n > 1 ? rec[start + 1]! << 1 : 0)) & 7;
    const at = k * 16;
    const bytes = this.bytes;
    if (this.lens[k] === n) {
      let i = 0;
      while (i < n && rec[start + i] === bytes[at + i]) i++;
      if (i === n) return this.text[k]!;
    }
    const t = decodeRaw(rec, start, end);
    for (let i = 0; i < n; i++) bytes[at + i] = rec[start + i]!;
    this.lens[k] = n;
    this.text[k] = t;
    return t;
  }
}

/** The decoders' one table of repeating u64 strings (starts and cgroup ids). */
export const repeatingU64 = new U64Strings();

export function argNum(rec: Buffer, base: number, i: number): number {
  // args are u64 in the record; every value we read as a number fits 53 bits
  // or is a 32-bit quantity the kernel widened.
  const lo = rec.readUInt32LE(base + E.args + i * 8);
  const hi = rec.readUInt32LE(base + E.args + i * 8 + 4);
  return hi * 0x100000000 + lo;
}

export function argI32(rec: Buffer, base: number, i: number): number {
  return rec.readInt32LE(base + E.args + i * 8);
}

/** args[i] as an unsigned 64-bit hex string, `pad` digits at least. */
export function argHex(rec: Buffer, base: number, i: number, pad = 0): string {
  return `0x${rec.readBigUInt64LE(base + E.args + i * 8).toString(16).padStart(pad, '0')}`;
}

/** args[i] of a family record as a number. */
export function arg(r: FamilyRecord, i: number): number {
  return argNum(r.rec, r.base, i);
}

/** args[i] of a family record as a signed 32-bit number (fds, pids, ids where -1 means none). */
export function arg32(r: FamilyRecord, i: number): number {
  return argI32(r.rec, r.base, i);
}

export function trimNul(rec: Buffer, start: number, end: number): number {
  let e = start;
  while (e < end && rec[e] !== 0) e++;
  return e;
}

export function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** Join a caller's path with the directory it is relative to, and normalize. */
export function resolveCallerPath(p: string, base: string | undefined): string {
  let full = p;
  if (!p.startsWith('/') && base !== undefined) full = base === '/' ? `/${p}` : `${base}/${p}`;
  if (!full.startsWith('/')) return full;
  let n = posix.normalize(full);
  if (n.length > 1 && n.endsWith('/')) n = n.slice(0, -1);
  return n;
}

export function fileFromPath(path: string): FileInfo {
  const slash = path.lastIndexOf('/');
  const name = slash >= 0 ? path.slice(slash + 1) : path;
  const f: FileInfo = { path, name, directory: slash > 0 ? path.slice(0, slash) : '/' };
  const dot = name.lastIndexOf('.');
  if (dot > 0 && dot < name.length - 1) f.extension = name.slice(dot + 1);
  return f;
}

/**
 * The file of a one-path operation (slot 0, from the fd when
 * SE_F_PATH_FROM_FILE, else the caller's path against slot 2's base) as
 * `ev.file`, with ebpf.requested and ebpf.path_source; returns the path.
 */
export function pathTarget(r: FamilyRecord, ev: SensorEvent, facts: EbpfFacts): string {
  const p = r.text(PathStr.path, 'file.path') ?? '';
  const b = r.text(PathStr.base, 'ebpf.base');
  const fromFile = (r.hflags & RecordFlags.SE_F_PATH_FROM_FILE) !== 0;
  const path = fromFile ? p : resolveCallerPath(p, b);
  ev.file = fileFromPath(path);
  if (!fromFile && p !== path) facts.requested = { path: p };
  facts.path_source = fromFile ? 'file' : p.startsWith('/') ? 'absolute' : 'dirfd';
  return path;
}

/** The record as the family decoders of hooks.ts read it. */
export function hookView(r: FamilyRecord): RecordView {
  const { rec, base, slots } = r;
  return {
    text: (i, field) => r.text(i, field),
    bytes: (i) => {
      const s = slots[i];
      return s ? { data: rec.subarray(base + s.off, base + s.off + s.len), flags: s.flags } : undefined;
    },
    arg: (i) => argNum(rec, base, i),
    argI32: (i) => argI32(rec, base, i),
    argHex: (i) => argHex(rec, base, i),
    flags: r.hflags,
    resolve: resolveCallerPath,
    fileFromPath,
  };
}
