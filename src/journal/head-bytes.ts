/**
 * The compact journal head (compact-record.ts compactJson) written as bytes
 * straight into the record buffer: no JSON string is made, flattened and
 * copied.
 *
 * Takes: the record buffer, an offset, a classified event whose process fits
 * the compact form, and its head's flags (compact-record.ts headFlags: the
 * process's bits and which members are written as 0, left to the ECS line).
 * Gives: the offset after the head's bytes — exactly the UTF-8 of
 * compactJson(ce) — or HEAD_FULL (the buffer ended first: grow it and call
 * again) or HEAD_ODD (something this writer does not write the way
 * JSON.stringify does: the caller takes compactJson).
 *
 * Why bytes: JSON.stringify of the head (≈ 650 characters, ≈ 45 members)
 * cost ≈ 3 µs per event, and the string then had to be encoded into the
 * buffer; a head built as a string from cached pieces was slower still (the
 * pieced string is flattened before it is written). Here each member is
 * written where it ends up: a string that needs no escaping (printable
 * ASCII but `"` and `\`, or DEL) is copied code unit by code unit in the
 * same loop that checks it; any other string — control characters, quotes,
 * backslashes, non-ASCII, U+2028/2029, U+FFFD, lone surrogates — is
 * JSON.stringify'd alone and written as UTF-8 (JSON's escapes are ASCII and
 * a stringified value holds no lone surrogate, so the bytes are those of the
 * whole string's encoding). Integers up to 2^53 are written digit by digit
 * (two int32 halves: float modulus costs several times more); other numbers
 * as String(n), which is JSON's text for a finite number. Shared frozen
 * objects (users, groups, a normal verdict) are copied from bytes kept for
 * them once they are proven unable to change ("bytes kept for shared frozen
 * objects").
 *
 * Exact by refusal: an object that is not a plain object or array (a Date,
 * a Map, a boxed primitive, a class instance, anything with a toJSON), a
 * bigint, an enumerable member on Object.prototype, or more than MAX_DEPTH
 * levels makes the whole head HEAD_ODD: JSON.stringify's own rules apply to
 * it then. A property test compares these bytes with compactJson's on random
 * hostile events (issue-14-head-bytes.test.ts).
 */
import type { ClassifiedEvent } from '../model/event.js';
import { elided } from './head-elision.js';

/** The buffer ended before the head did: nothing usable was written. */
export const HEAD_FULL = -1;
/** The event holds something only JSON.stringify writes exactly. */
export const HEAD_ODD = -2;

const MAX_DEPTH = 64;
const OBJECT_PROTO = Object.prototype;
const ARRAY_PROTO = Array.prototype;
const EMPTY = {};

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;

const EMPTY_BUF = Buffer.alloc(0);

// The writer's state for one head (module-level: the recursion passes no context).
let B: Buffer = EMPTY_BUF;
let o = 0;
let end = 0;
let bail = 0;

/**
 * Write compactJson(ce) (without the `R` tag) into `buf` from `off`. Returns
 * the end offset, HEAD_FULL or HEAD_ODD; on either of those the bytes from
 * `off` on are garbage.
 */
export function writeCompactHead(buf: Buffer, off: number, ce: ClassifiedEvent, flags: number): number {
  // Once per head: what would make a for-in walk see what JSON.stringify does not, or make it call a toJSON.
  for (const _ in EMPTY) return HEAD_ODD;
  if ((OBJECT_PROTO as { toJSON?: unknown }).toJSON !== undefined || (ARRAY_PROTO as { toJSON?: unknown }).toJSON !== undefined) return HEAD_ODD;
  B = buf;
  o = off;
  end = buf.length;
  bail = 0;
  const ok = top(ce as unknown as Record<string, unknown>, flags);
  B = EMPTY_BUF; // do not keep the record buffer alive from here
  return ok ? o : bail;
}

/** The classified event: as `obj`, but its `event` member is written by `eventObj`. */
function top(ce: Record<string, unknown>, flags: number): boolean {
  if (!plainObject(ce)) return fail();
  if (o + 2 > end) return fail(HEAD_FULL);
  B[o++] = 0x7b;
  let first = true;
  for (const k in ce) {
    const v = ce[k];
    if (k === 'event' && typeof v === 'object' && v !== null && !Array.isArray(v)) {
      if (!first) B[o++] = COMMA;
      first = false;
      if (!key(k) || !eventObj(v as Record<string, unknown>, flags)) return false;
      continue;
    }
    const w = member(first, k, v, 1);
    if (w === 0) return false;
    if (w === 1) first = false;
  }
  if (o + 1 > end) return fail(HEAD_FULL);
  B[o++] = 0x7d;
  return true;
}

/** The canonical event, its `process` member written as the flags number, the members they name (head-elision.ts elided) as 0. */
function eventObj(ev: Record<string, unknown>, flags: number): boolean {
  if (!plainObject(ev)) return fail();
  if (o + 2 > end) return fail(HEAD_FULL);
  B[o++] = 0x7b;
  let first = true;
  for (const k in ev) {
    const v = ev[k];
    if (k === 'process') {
      if (typeof v === 'undefined' || typeof v === 'function' || typeof v === 'symbol') continue;
      if (!first) B[o++] = COMMA;
      first = false;
      if (!key(k) || !num(flags)) return false;
      continue;
    }
    if (flags > 7 && elided(k, flags)) {
      if (o + 1 > end) return fail(HEAD_FULL);
      if (!first) B[o++] = COMMA;
      first = false;
      if (!key(k) || !ascii('0')) return false;
      continue;
    }
    const w = member(first, k, v, 2);
    if (w === 0) return false;
    if (w === 1) first = false;
  }
  if (o + 1 > end) return fail(HEAD_FULL);
  B[o++] = 0x7d;
  return true;
}

/** A member `"k":v` (after a comma unless first): 1 written, 2 skipped (JSON leaves it out), 0 bail. */
function member(first: boolean, k: string, v: unknown, depth: number): number {
  const t = typeof v;
  if (t === 'undefined' || t === 'function' || t === 'symbol') return 2;
  if (o + 1 > end) return (fail(HEAD_FULL), 0);
  if (!first) B[o++] = COMMA;
  if (!key(k)) return 0;
  return value(v, depth) ? 1 : 0;
}

/** `"k":` */
function key(k: string): boolean {
  if (!str(k) || o + 1 > end) return fail(HEAD_FULL);
  B[o++] = COLON;
  return true;
}

function value(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
      return str(v);
    case 'number':
      return num(v);
    case 'boolean':
      return v ? ascii('true') : ascii('false');
    case 'object':
      if (v === null) return ascii('null');
      if (depth >= MAX_DEPTH) return fail();
      return Array.isArray(v) ? arr(v, depth + 1) : obj(v as Record<string, unknown>, depth + 1);
    default:
      return fail(); // bigint: JSON.stringify throws, and says so itself
  }
}

function plainObject(x: object): boolean {
  const p = Object.getPrototypeOf(x) as unknown;
  return (p === OBJECT_PROTO || p === null) && (x as { toJSON?: unknown }).toJSON === undefined;
}

function obj(x: Record<string, unknown>, depth: number): boolean {
  const frozen = Object.isFrozen(x);
  if (frozen) {
    const m = kept.get(x);
    if (m !== undefined) return copy(m);
  }
  if (!plainObject(x)) return fail();
  if (o + 2 > end) return fail(HEAD_FULL);
  const at = o;
  B[o++] = 0x7b;
  let first = true;
  for (const k in x) {
    const w = member(first, k, x[k], depth);
    if (w === 0) return false;
    if (w === 1) first = false;
  }
  if (o + 1 > end) return fail(HEAD_FULL);
  B[o++] = 0x7d;
  if (frozen) keep(x, at);
  return true;
}

// ---- bytes kept for shared frozen objects ---------------------------------------------
//
// The users and groups (model/user-ref.ts) and the verdict of a normal event are shared,
// frozen objects: their bytes are kept once proven settled (frozen all the way down, data
// members only, so no getter answers differently later) and copied from then on. Asked the
// second time such an object is written, as compact-record.ts keeps its verdicts: a frozen
// object made for one event costs a WeakSet entry, not the proof and a copy.

const kept = new WeakMap<object, Uint8Array>();
const metOnce = new WeakSet<object>();

function keep(x: object, at: number): void {
  if (!metOnce.has(x)) metOnce.add(x);
  else if (deepSettled(x, 0)) kept.set(x, Uint8Array.prototype.slice.call(B, at, o));
}

function deepSettled(x: object, depth: number): boolean {
  if (depth > 8 || !Object.isFrozen(x)) return false;
  const names = Object.getOwnPropertyNames(x);
  for (let i = 0; i < names.length; i++) {
    const d = Object.getOwnPropertyDescriptor(x, names[i]!)!;
    if (!('value' in d)) return false;
    const v = d.value as unknown;
    if (typeof v === 'object' && v !== null && !deepSettled(v, depth + 1)) return false;
  }
  return true;
}

function copy(m: Uint8Array): boolean {
  const n = m.length;
  if (o + n > end) return fail(HEAD_FULL);
  const b = B;
  let p = o;
  for (let i = 0; i < n; i++) b[p++] = m[i]!;
  o = p;
  return true;
}

function arr(a: unknown[], depth: number): boolean {
  if (Object.getPrototypeOf(a) !== ARRAY_PROTO || (a as { toJSON?: unknown }).toJSON !== undefined) return fail();
  if (o + 2 > end) return fail(HEAD_FULL);
  B[o++] = 0x5b;
  const n = a.length;
  for (let i = 0; i < n; i++) {
    if (i > 0) {
      if (o + 1 > end) return fail(HEAD_FULL);
      B[o++] = COMMA;
    }
    const v = a[i];
    const t = typeof v;
    if (t === 'undefined' || t === 'function' || t === 'symbol') {
      if (!ascii('null')) return false;
    } else if (!value(v, depth)) return false;
  }
  if (o + 1 > end) return fail(HEAD_FULL);
  B[o++] = 0x5d;
  return true;
}

/** A string as JSON: copied while it needs no escape, else JSON.stringify'd alone. */
function str(s: string): boolean {
  const n = s.length;
  if (o + n + 2 > end) return fail(HEAD_FULL);
  const b = B;
  let p = o;
  b[p++] = QUOTE;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7f || c === QUOTE || c === 0x5c) return escaped(s);
    b[p++] = c;
  }
  b[p++] = QUOTE;
  o = p;
  return true;
}

function escaped(s: string): boolean {
  const j = JSON.stringify(s);
  if (o + j.length * 3 > end) return fail(HEAD_FULL);
  o += B.write(j, o, 'utf8');
  return true;
}

/** Printable ASCII known to need no escape (literals, number text). */
function ascii(s: string): boolean {
  const n = s.length;
  if (o + n > end) return fail(HEAD_FULL);
  const b = B;
  let p = o;
  for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
  o = p;
  return true;
}

const MAX_SAFE = 9007199254740991;
const E9 = 1_000_000_000;

/** A number as JSON.stringify writes it. */
function num(v: number): boolean {
  if (o + 25 > end) return fail(HEAD_FULL);
  let n = v;
  if (n < 0 && n >= -MAX_SAFE && Math.floor(n) === n) {
    B[o++] = 0x2d;
    n = -n;
  }
  // -0 lands here too and is written "0", as JSON writes it.
  if (n >= 0 && n <= MAX_SAFE && Math.floor(n) === n) {
    if (n < E9) {
      o = digits(B, o, n | 0);
    } else {
      // Two int32 halves: float division and modulus cost several times the integer ones.
      const hi = Math.floor(n / E9);
      o = nine(B, digits(B, o, hi), (n - hi * E9) | 0);
    }
    return true;
  }
  return ascii(Number.isFinite(v) ? String(v) : 'null');
}

/** The decimal digits of 0 <= n < 2^31 at p; returns the end. */
function digits(b: Buffer, p: number, n: number): number {
  let len = 1;
  for (let t = n; t >= 10; t = (t / 10) | 0) len++;
  const e = p + len;
  let q = e;
  do {
    const t = (n / 10) | 0;
    b[--q] = 0x30 + n - t * 10;
    n = t;
  } while (n > 0);
  return e;
}

/** 0 <= n < 10^9 as nine digits, zero-padded, at p; returns the end. */
function nine(b: Buffer, p: number, n: number): number {
  for (let q = p + 8; q >= p; q--) {
    const t = (n / 10) | 0;
    b[q] = 0x30 + n - t * 10;
    n = t;
  }
  return p + 9;
}

function fail(why: number = HEAD_ODD): false {
  bail = why;
  return false;
}
