/**
 * Byte-level JSON scanning of capture lines (capture-format.ts), without
 * parsing: where an event line's references, timestamp and values are, and
 * single values of a flat JSON array taken by position, the others skipped.
 * Takes an inflated block and byte offsets; gives offsets and the few values
 * asked for. Knows JSON, not the meaning of a record (capture-block.ts).
 */

export const BRACKET_OPEN = 0x5b;
export const BRACKET_CLOSE = 0x5d;
export const QUOTE = 0x22;
export const COMMA = 0x2c;
export const NEWLINE = 0x0a;
const BRACE_OPEN = 0x7b;
const BRACE_CLOSE = 0x7d;
const BACKSLASH = 0x5c;

/** Where the parts of an event line are: filled by scanEventLine (one object reused for every line). */
export interface EventLine {
  ctx: number;
  shape: number;
  tmpl: number;
  /** The @timestamp string without its quotes, [tsStart, tsEnd); -1 when null. */
  tsStart: number;
  tsEnd: number;
  /** The values array without its brackets, [valStart, valEnd). */
  valStart: number;
  valEnd: number;
}

/**
 * Scan the event line `[ctx,shape,template,"timestamp"|null,[values]]` at
 * [start, end) into `out`; undefined when it is one, otherwise why not.
 */
export function scanEventLine(b: Buffer, start: number, end: number, out: EventLine): string | undefined {
  let p = start + 1;
  for (let k = 0; k < 3; k++) {
    let v = 0;
    const from = p;
    for (let c = b[p]!; c >= 48 && c <= 57; c = b[++p]!) v = v * 10 + (c - 48);
    if (p === from || p - from > 9 || b[p] !== COMMA) return 'not a record line';
    if (k === 0) out.ctx = v;
    else if (k === 1) out.shape = v;
    else out.tmpl = v;
    p++;
  }
  out.tsStart = -1;
  out.tsEnd = -1;
  if (b[p] === QUOTE) {
    const q = b.indexOf(QUOTE, p + 1);
    if (q < 0 || q >= end) return 'the timestamp is not a string';
    out.tsStart = p + 1;
    out.tsEnd = q;
    p = q + 1;
  } else if (b[p] === 0x6e /* n */ && b[p + 1] === 0x75 && b[p + 2] === 0x6c && b[p + 3] === 0x6c) p += 4;
  else return 'the timestamp is neither a string nor null';
  if (b[p] !== COMMA || b[p + 1] !== BRACKET_OPEN || b[end - 2] !== BRACKET_CLOSE) return 'the event values are not an array';
  out.valStart = p + 1;
  out.valEnd = end - 1;
  return undefined;
}

/** The closing quote of the JSON string opening at `p` (before `end`), or -1. */
export function stringEnd(b: Buffer, p: number, end: number): number {
  let q = b.indexOf(QUOTE, p + 1);
  for (;;) {
    if (q < 0 || q >= end) return -1;
    let n = 0;
    while (b[q - 1 - n] === BACKSLASH) n++;
    if (n % 2 === 0) return q;
    q = b.indexOf(QUOTE, q + 1);
  }
}

/**
 * Some values of the JSON array at [start, end) (`start` at its '['), by
 * position (`want` ascending), read by skipping over the others without
 * parsing them; undefined when the array is damaged or ends before a wanted
 * value. A fraction of the cost of parsing the whole array.
 */
export function arrayValuesAt(b: Buffer, start: number, end: number, want: readonly number[]): unknown[] | undefined {
  const out = new Array<unknown>(want.length);
  let p = start + 1; // after '['
  let k = 0;
  for (let idx = 0; k < want.length; idx++) {
    if (p >= end) return undefined;
    const from = p;
    const c0 = b[p]!;
    if (c0 === QUOTE) {
      const q = stringEnd(b, p, end);
      if (q < 0) return undefined;
      p = q + 1;
      if (idx === want[k]) {
        let plain = true;
        for (let x = from + 1; x < q; x++) if (b[x] === BACKSLASH) plain = false;
        if (plain) out[k++] = b.toString('utf8', from + 1, q);
        else {
          try {
            out[k++] = JSON.parse(b.toString('utf8', from, p));
          } catch {
            return undefined;
          }
        }
      }
    } else if (c0 === BRACKET_OPEN || c0 === BRACE_OPEN) {
      // A nested value: count brackets, stepping over strings.
      let depth = 0;
      do {
        const ch = b[p]!;
        if (ch === QUOTE) {
          const q = stringEnd(b, p, end);
          if (q < 0) return undefined;
          p = q + 1;
          continue;
        }
        if (ch === BRACKET_OPEN || ch === BRACE_OPEN) depth++;
        else if (ch === BRACKET_CLOSE || ch === BRACE_CLOSE) depth--;
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

/** JSON.parse of the bytes [start, end), or undefined when they are not JSON. */
export function parseOrUndefined(b: Buffer, start: number, end: number): unknown {
  try {
    return JSON.parse(b.toString('utf8', start, end));
  } catch {
    return undefined;
  }
}

/**
 * Where each value of the flat JSON array at [start, end) (`start` at its
 * '[') sits: spans[2k] and spans[2k + 1] for value k (strings with their
 * quotes). Only for values in their canonical JSON form — strings of
 * printable ASCII without escapes, integers of at most 15 digits — whose
 * bytes are what `JSON.stringify(JSON.parse(bytes))` gives back; returns the
 * number of values, or -1 for anything else (damaged, nested, escaped,
 * non-ASCII, other numbers, whitespace, more values than `spans` holds).
 */
export function canonicalSpans(b: Buffer, start: number, end: number, spans: Int32Array): number {
  let p = start;
  const close = end - 1;
  if (b[p] !== BRACKET_OPEN || b[close] !== BRACKET_CLOSE) return -1;
  p++;
  if (p === close) return 0;
  let n = 0;
  for (;;) {
    if (2 * n + 1 >= spans.length) return -1;
    const from = p;
    let c = b[p]!;
    if (c === QUOTE) {
      for (c = b[++p]!; c !== QUOTE; c = b[++p]!) if (p >= close || c < 0x20 || c > 0x7e || c === BACKSLASH) return -1;
      p++;
    } else {
      if (c === 0x2d /* - */) c = b[++p]!;
      const digits = p;
      if (c === 0x30 /* 0 */) c = b[++p]!;
      else while (c >= 0x30 && c <= 0x39) c = b[++p]!;
      // "-0" parses to -0, which is written "0": not canonical.
      if (p === digits || p - digits > 15 || (b[digits] === 0x30 && b[from] === 0x2d)) return -1;
    }
    spans[2 * n] = from;
    spans[2 * n + 1] = p;
    n++;
    if (p === close) return n;
    if (b[p] !== COMMA || p + 1 >= close) return -1;
    p++;
  }
}
