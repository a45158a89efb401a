/**
 * normalize/ecs text: the JSON text primitives of the ECS serializer
 * (ecs-serializer.ts, ecs-process.ts) — string literals through a fast check,
 * numbers, lists, any JSON value, and bounded memo tables.
 *
 * Takes: strings, numbers, plain JSON values. Gives: their JSON text exactly
 * as `ecsJson` (ecs.ts) writes them: JSON.stringify's escapes plus NEL, LS
 * and PS as \u escapes.
 *
 * A string holding raw kernel bytes (a lone surrogate) cannot be written
 * here: it sets `text.raw`, and the serializer then writes the whole document
 * with the reference builder, which keeps those bytes in `ebpf.raw_bytes`.
 * A string holding U+FFFD (how ECS shows raw bytes) takes the same way, so a
 * line the serializer wrote itself is known to hold none (the journal keeps
 * the compact record only for such a line: record-encoder.ts).
 * Nothing that was written while `text.raw` was set may be cached.
 */
import { escapeLineBreaks } from './ecs.js';

/** What JSON.stringify escapes in a string, plus the line breaks ecsJson escapes. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u0085\u2028\u2029]/;

/**
 * NEEDS_ESCAPE, any surrogate (paired or not; no `u` flag, so the class
 * matches UTF-16 code units) or U+FFFD: a string without one is well-formed,
 * needs no escaping and holds no U+FFFD, found by one regular expression test
 * instead of three scans.
 */
const NEEDS_CARE = /["\\\u0000-\u001f\u0085\u2028\u2029\ud800-\udfff\ufffd]/;

/** Set when a string holds raw bytes or U+FFFD (see above); the serializer clears it per document. */
export const text = { raw: false };

/** A JSON string literal of `s`, as ecsJson writes it. */
export function q(s: string): string {
  // A replayed record may hold anything where a string belongs: fail (replay reports the field, a
  // coded capture error) rather than write what String() makes of it.
  if (typeof s !== 'string') throw new TypeError(`a string was expected, not ${typeof s}`);
  if (!NEEDS_CARE.test(s)) return `"${s}"`;
  if (!s.isWellFormed() || s.includes('\ufffd')) {
    text.raw = true;
    return '""';
  }
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  return escapeLineBreaks(JSON.stringify(s));
}

export function num(n: number): string {
  return Number.isFinite(n) ? `${n}` : 'null';
}

export function strList(list: readonly string[]): string {
  let out = '[';
  for (let i = 0; i < list.length; i++) {
    if (i) out += ',';
    out += q(list[i]!);
  }
  return `${out}]`;
}

const lists = new WeakMap<readonly string[], { copy: string[]; text: string }>();

/**
 * strList of an args array, written once per array: a process's events and
 * its fork children share their table entry's array (enrich). The entry keeps
 * a copy and is used only while the array still holds the same strings.
 */
export function argsList(list: readonly string[]): string {
  const c = lists.get(list);
  if (c !== undefined && sameList(c.copy, list)) return c.text;
  const t = strList(list);
  if (!text.raw) lists.set(list, { copy: list.slice(), text: t });
  return t;
}

const keys = new Map<string, string>();

/** `"k":` — member names come from a small fixed vocabulary: written once each. */
export function key(k: string): string {
  let s = keys.get(k);
  if (s === undefined) {
    s = `${q(k)}:`;
    if (text.raw) return s;
    if (keys.size >= MEMO_MAX) keys.clear();
    keys.set(k, s);
  }
  return s;
}

/** Any JSON value, written as JSON.stringify would (undefined members left out). */
export function val(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return q(v);
    case 'number':
      return num(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'null';
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) {
          if (i) out += ',';
          const x: unknown = v[i];
          out += x === undefined || typeof x === 'function' || typeof x === 'symbol' ? 'null' : val(x);
        }
        return `${out}]`;
      }
      return obj(v as Record<string, unknown>, '{');
    }
    default:
      return 'null';
  }
}

/** Members of a plain object after `open` ('{' or what precedes them). */
export function obj(o: Record<string, unknown>, open: string): string {
  let out = open;
  let first = open === '{';
  for (const k in o) {
    const x = o[k];
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
    if (!first) out += ',';
    out += key(k) + val(x);
    first = false;
  }
  return `${out}}`;
}

/**
 * `s`, flattened: text built by `+=` is a tree of cons strings; a cached
 * fragment kept as one would keep dozens of small objects alive (old-space
 * garbage once the process exits) and be walked again by every line it goes
 * into. ToNumber flattens a string in place (the flatstr trick).
 */
export function flat(s: string): string {
  Number(s);
  return s;
}

/** Entries per memo table before it is emptied (bounds the caches of a long run). */
export const MEMO_MAX = 4096;

/** m.set(k, v), the map emptied first when it holds MEMO_MAX entries (the memo caches' bound). */
export function put<K, V>(m: Map<K, V>, k: K, v: V): void {
  if (m.size >= MEMO_MAX) m.clear();
  m.set(k, v);
}

/** Element-wise: caches keep a copy, since an args array may be changed in place. */
export function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
