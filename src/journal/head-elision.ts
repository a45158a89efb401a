/**
 * Which members of a compact record's head the record's ECS line already
 * holds exactly, beyond the process (format version 4), and putting them back
 * on read.
 *
 * Takes: a classified event whose process fits the compact form
 * (compact-record.ts processFits) and whose ECS line the journal stores with
 * it as written by normalize/ecs (a line without raw LF or U+FFFD). Gives:
 * `elisionsOf`, bits of the head's `"process":N` saying which members are
 * written as `0` in the head instead of their value — `ebpf` (the largest:
 * ≈ 300 bytes of a fork's head), `@timestamp`, `event` (id, sequence, action,
 * outcome), `user`, `group`, `file`, `container`, `source`, `destination` —
 * and where the ECS `ebpf.process` left out `comm`, `fsuid` and
 * `fsgid` (it drops them when they repeat process.name and the effective
 * ids); on read, `restoreElided` takes them from the parsed ECS document.
 *
 * Exact by refusal, as processFits: a member is left out only when the ECS
 * line writes it in a form JSON.parse gives back as the value a canonical
 * record gives (JSON's): `ebpf` holds plain JSON values only (no Date, no
 * toJSON, no class instance, no bigint) and none of the members the ECS block
 * adds (`rules`, `kill`, `raw_bytes`), nor a member named `__proto__` where
 * the reader assigns members one by one; `event` has exactly id, sequence,
 * action and outcome, in that order, of the types ECS writes; `@timestamp`
 * is a string; user, group, file, container and the endpoints hold only
 * members ECS writes, of its types, in its order. Anything else stays in the head, member by member: the flags
 * say which were left out, so a refused member costs nothing but its bytes.
 * Members keep their places in the key order (the placeholder sits where the
 * member was), and so do the three `ebpf.process` members (their positions
 * are in the flags).
 */
import type { ClassifiedEvent, SensorEvent } from '../model/event.js';

/** `"ebpf"` is written as 0: the ECS line's `ebpf` holds it (less rules and kill, plus the positions below). */
export const ELIDE_EBPF = 8;
/** `"@timestamp"` is written as 0: the ECS line's `@timestamp`. */
export const ELIDE_TIME = 16;
/** `"event"` is written as 0: id, sequence, action and outcome of the ECS line's `event`. */
export const ELIDE_EVENT = 32;
/** `"user"` is written as 0: id and name of the ECS line's `user` (not its `effective`). */
export const ELIDE_USER = 64;
/** `"group"` is written as 0: the ECS line's `group`. */
export const ELIDE_GROUP = 128;
/** `"file"` is written as 0: the ECS line's `file` (its strings, in FILE_STRINGS order). */
export const ELIDE_FILE = 256;
/** `"container"`, `"source"`, `"destination"` are written as 0: the ECS line's. */
export const ELIDE_CONTAINER = 512;
export const ELIDE_SOURCE = 1024;
export const ELIDE_DESTINATION = 2048;

/** Members an ECS object writes, in its order, each of one type: `[index, type]` by name. */
type Order = ReadonlyMap<string, readonly [number, 'string' | 'number']>;
const order = (members: ReadonlyArray<readonly [string, 'string' | 'number']>): Order => new Map(members.map(([k, t], i) => [k, [i, t] as const]));
/** normalize/ecs/ecs.ts FILE_STRINGS. */
const FILE_ORDER = order(['path', 'name', 'directory', 'extension', 'inode', 'device', 'mode', 'uid', 'gid', 'owner', 'group', 'type', 'target_path'].map((k) => [k, 'string'] as const));
/** ecs-serializer.ts write(): container id, runtime, name. */
const CONTAINER_ORDER = order([
  ['id', 'string'],
  ['runtime', 'string'],
  ['name', 'string'],
]);
/** ecs-serializer.ts endpoint(): address, ip, port. */
const ENDPOINT_ORDER = order([
  ['address', 'string'],
  ['ip', 'string'],
  ['port', 'number'],
]);

/** Whether member `k` of the canonical event is written as 0 under `flags` (a compact head's `"process":N`). */
export function elided(k: string, flags: number): boolean {
  switch (k) {
    case 'ebpf':
      return (flags & ELIDE_EBPF) !== 0;
    case '@timestamp':
      return (flags & ELIDE_TIME) !== 0;
    case 'event':
      return (flags & ELIDE_EVENT) !== 0;
    case 'user':
      return (flags & ELIDE_USER) !== 0;
    case 'group':
      return (flags & ELIDE_GROUP) !== 0;
    case 'file':
      return (flags & ELIDE_FILE) !== 0;
    case 'container':
      return (flags & ELIDE_CONTAINER) !== 0;
    case 'source':
      return (flags & ELIDE_SOURCE) !== 0;
    case 'destination':
      return (flags & ELIDE_DESTINATION) !== 0;
    default:
      return false;
  }
}

/** Bit offsets of the 5-bit positions (+1; 0: not left out) of comm, fsuid and fsgid in `ebpf.process`. */
const COMM_AT = 12;
const FSUID_AT = 17;
const FSGID_AT = 22;
const POS_MAX = 30;

/** Nesting deeper than this inside `ebpf` stays in the head (as head-bytes.ts bails). */
const MAX_DEPTH = 32;

type Obj = Record<string, unknown>;

const OBJECT_PROTO = Object.prototype;
const ARRAY_PROTO = Array.prototype;
const EMPTY = {};

/** Members JSON.stringify leaves out of an object. */
const skipped = (v: unknown): boolean => v === undefined || typeof v === 'function' || typeof v === 'symbol';

function plainObject(x: object): boolean {
  const p = Object.getPrototypeOf(x) as unknown;
  return (p === OBJECT_PROTO || p === null) && (x as { toJSON?: unknown }).toJSON === undefined;
}

/** A value that both JSON.stringify and the ECS serializer's val() write as the same JSON value. */
function jsonValue(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
      return true;
    case 'object': {
      if (v === null) return true;
      if (depth >= MAX_DEPTH) return false;
      if (Array.isArray(v)) {
        if (Object.getPrototypeOf(v) !== ARRAY_PROTO || (v as { toJSON?: unknown }).toJSON !== undefined) return false;
        for (let i = 0; i < v.length; i++) {
          const x: unknown = v[i];
          if (!skipped(x) && !jsonValue(x, depth + 1)) return false;
        }
        return true;
      }
      if (!plainObject(v)) return false;
      for (const k in v) {
        const x = (v as Obj)[k];
        if (!skipped(x) && !jsonValue(x, depth + 1)) return false;
      }
      return true;
    }
    default:
      return false; // bigint: the ECS line would say null, JSON.stringify throws
  }
}

/** The position bits of `ebpf.process` (comm, fsuid, fsgid the ECS line leaves out), or -1: keep ebpf in the head. */
function processPositions(pf: Obj, p: SensorEvent['process']): number {
  if (Array.isArray(pf) || !plainObject(pf)) return -1;
  let bits = 0;
  let at = 0; // position among the members JSON writes
  for (const k in pf) {
    const v = pf[k];
    if (skipped(v)) continue;
    if (k === '__proto__') return -1;
    let shift = -1;
    if (k === 'comm' && v === p.name) shift = COMM_AT;
    else if (k === 'fsuid' && v === p.user.id) shift = FSUID_AT;
    else if (k === 'fsgid' && v === p.group.id) shift = FSGID_AT;
    if (shift >= 0) {
      if (at > POS_MAX) return -1;
      bits |= (at + 1) << shift;
    } else if (!jsonValue(v, 1)) return -1;
    at++;
  }
  return bits;
}

/** ELIDE_EBPF and the positions, or 0. */
function ebpfBits(ev: SensorEvent): number {
  const f = ev.ebpf as unknown;
  if (typeof f !== 'object' || f === null || Array.isArray(f) || !plainObject(f)) return 0;
  let bits = ELIDE_EBPF;
  for (const k in f as Obj) {
    const v = (f as Obj)[k];
    if (skipped(v)) continue;
    // rules, kill, raw_bytes: the ECS block's own; __proto__: an assignment on read would set the prototype instead.
    if (k === 'rules' || k === 'kill' || k === 'raw_bytes' || k === '__proto__') return 0;
    if (k === 'process' && typeof v === 'object' && v !== null) {
      const pos = processPositions(v as Obj, ev.process);
      if (pos < 0) return 0;
      bits |= pos;
    } else if (!jsonValue(v, 0)) return 0;
  }
  return bits;
}

/** event.event exactly `{id, sequence, action, outcome}` as the ECS event object writes them. */
function eventFits(e: unknown): boolean {
  if (typeof e !== 'object' || e === null || Array.isArray(e) || !plainObject(e)) return false;
  let i = 0;
  for (const k in e as Obj) {
    const v = (e as Obj)[k];
    if (skipped(v)) return false;
    switch (i++) {
      case 0:
        if (k !== 'id' || typeof v !== 'string') return false;
        break;
      case 1:
        if (k !== 'sequence' || typeof v !== 'number') return false;
        break;
      case 2:
        if (k !== 'action' || typeof v !== 'string') return false;
        break;
      case 3:
        if (k !== 'outcome' || typeof v !== 'string') return false;
        break;
      default:
        return false;
    }
  }
  return i === 4;
}

/** A user or group exactly `{id, name?}` of strings, in that order: what ECS writes (ecs-user.ts). */
function userFits(u: unknown): boolean {
  if (typeof u !== 'object' || u === null || Array.isArray(u) || !plainObject(u)) return false;
  let i = 0;
  for (const k in u as Obj) {
    const v = (u as Obj)[k];
    if (skipped(v)) continue;
    if (typeof v !== 'string' || k !== (i++ === 0 ? 'id' : i === 2 ? 'name' : '')) return false;
  }
  return i > 0;
}

/** An object of members ECS writes (`ord`), each of its type, in the order ECS writes them; `first` required. */
function orderFits(o: unknown, ord: Order, first: string | undefined): boolean {
  if (typeof o !== 'object' || o === null || Array.isArray(o) || !plainObject(o)) return false;
  let last = -1;
  for (const k in o as Obj) {
    const v = (o as Obj)[k];
    if (skipped(v)) continue;
    const m = ord.get(k);
    if (m === undefined || m[0] <= last || typeof v !== m[1]) return false;
    last = m[0];
  }
  return first === undefined || typeof (o as Obj)[first] === 'string';
}

/**
 * The elision bits of an event whose process fits and whose ECS line is
 * journaled with it: what the head may write as 0 (see the file header).
 */
export function elisionsOf(ev: SensorEvent): number {
  // An enumerable member on Object.prototype: for-in walks (the ECS serializer's) would see it, JSON would not.
  for (const _ in EMPTY) return 0;
  let bits = ebpfBits(ev);
  if (typeof ev['@timestamp'] === 'string') bits |= ELIDE_TIME;
  if (eventFits(ev.event)) bits |= ELIDE_EVENT;
  if (userFits(ev.user)) bits |= ELIDE_USER;
  if (userFits(ev.group)) bits |= ELIDE_GROUP;
  if (ev.file !== undefined && orderFits(ev.file, FILE_ORDER, undefined)) bits |= ELIDE_FILE;
  if (ev.container !== undefined && orderFits(ev.container, CONTAINER_ORDER, 'id')) bits |= ELIDE_CONTAINER;
  if (ev.source !== undefined && orderFits(ev.source, ENDPOINT_ORDER, undefined)) bits |= ELIDE_SOURCE;
  if (ev.destination !== undefined && orderFits(ev.destination, ENDPOINT_ORDER, undefined)) bits |= ELIDE_DESTINATION;
  return bits;
}

/** `ebpf.process` of the ECS line with comm, fsuid and fsgid put back where the flags say. */
function processFacts(e: Obj, flags: number, p: SensorEvent['process']): Obj {
  const commAt = ((flags >>> COMM_AT) & 31) - 1;
  const fsuidAt = ((flags >>> FSUID_AT) & 31) - 1;
  const fsgidAt = ((flags >>> FSGID_AT) & 31) - 1;
  const o: Obj = {};
  let at = 0;
  const put = (): void => {
    for (;;) {
      if (at === commAt) o.comm = p.name;
      else if (at === fsuidAt) o.fsuid = p.user.id;
      else if (at === fsgidAt) o.fsgid = p.group.id;
      else return;
      at++;
    }
  };
  put();
  for (const k in e) {
    o[k] = e[k];
    at++;
    put();
  }
  return o;
}

/** The canonical `ebpf` from the ECS line's: rules and kill (the ECS block's own) dropped, ebpf.process completed. */
function ebpfOf(e: Obj, flags: number, p: SensorEvent['process']): Obj {
  const pos = flags & (((1 << 15) - 1) << COMM_AT);
  const o: Obj = {};
  for (const k in e) {
    if (k === 'rules' || k === 'kill') continue;
    const v = e[k];
    o[k] = k === 'process' && pos !== 0 && typeof v === 'object' && v !== null && !Array.isArray(v) ? processFacts(v as Obj, flags, p) : v;
  }
  return o;
}

/** `{id, name?}` of an ECS user or group (its `effective` left out). */
function userOf(u: unknown): Obj {
  if (typeof u !== 'object' || u === null || typeof (u as Obj).id !== 'string') throw new Error('compact journal record: the ECS line has no user or group');
  const o: Obj = { id: (u as Obj).id };
  if ((u as Obj).name !== undefined) o.name = (u as Obj).name;
  return o;
}

/** The ECS document's object `k`, as parsed (its members are the canonical ones, in their order). */
function objectOf(doc: Obj, k: string): Obj {
  const o = doc[k];
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error(`compact journal record: the ECS line has no ${k}`);
  return o as Obj;
}

/**
 * Put back into `ce` (parsed from a compact head, its process already
 * rebuilt) what `flags` says the head left to the ECS document `doc`.
 * Throws when the document lacks a member the flags point to.
 */
export function restoreElided(ce: ClassifiedEvent, doc: Obj, flags: number): void {
  const ev = ce.event as unknown as Obj;
  // Each only where the head holds its 0: a member JSON does not write (not enumerable) has no
  // placeholder, and the canonical event has no such member either, whatever the ECS line holds.
  if (flags & ELIDE_TIME && ev['@timestamp'] === 0) {
    if (typeof doc['@timestamp'] !== 'string') throw new Error('compact journal record: the ECS line has no @timestamp');
    ev['@timestamp'] = doc['@timestamp'];
  }
  if (flags & ELIDE_EVENT && ev.event === 0) {
    const e = doc.event as Obj | undefined;
    if (typeof e !== 'object' || e === null) throw new Error('compact journal record: the ECS line has no event');
    ev.event = { id: e.id, sequence: e.sequence, action: e.action, outcome: e.outcome };
  }
  if (flags & ELIDE_USER && ev.user === 0) ev.user = userOf(doc.user);
  if (flags & ELIDE_GROUP && ev.group === 0) ev.group = userOf(doc.group);
  if (flags & ELIDE_FILE && ev.file === 0) ev.file = objectOf(doc, 'file');
  if (flags & ELIDE_CONTAINER && ev.container === 0) ev.container = objectOf(doc, 'container');
  if (flags & ELIDE_SOURCE && ev.source === 0) ev.source = objectOf(doc, 'source');
  if (flags & ELIDE_DESTINATION && ev.destination === 0) ev.destination = objectOf(doc, 'destination');
  if (flags & ELIDE_EBPF && ev.ebpf === 0) {
    const e = doc.ebpf as Obj | undefined;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new Error('compact journal record: the ECS line has no ebpf');
    ev.ebpf = ebpfOf(e, flags, ce.event.process);
  }
}
