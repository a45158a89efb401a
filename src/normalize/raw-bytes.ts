/**
 * How kernel bytes that are not text reach a SIEM, for both normalizers.
 *
 * Canonical events keep invalid UTF-8 as lone surrogates U+DC80+byte
 * (model/raw-text.ts). Those must never leave the sensor raw: a lone
 * surrogate cannot be encoded as UTF-8, and JSON parsers disagree on what
 * `\udcff` means. So every output string is shown with U+FFFD in place of
 * each such unit (valid text, searchable, unable to forge anything) and the
 * exact bytes of that string are written once more, percent-encoded, in a
 * companion field (`ebpf.raw_bytes` in ECS, `cs6` "rawBytes" in CEF).
 * docs/outputs.md describes the scheme for SIEM users.
 */
import { encodeRaw } from '../model/raw-text.js';

declare global {
  interface String {
    /** ES2024; in Node since 20.0 (V8 answers in O(1) for one-byte strings). */
    isWellFormed(): boolean;
  }
}

/** A surrogate that is not part of a valid pair. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** True when `s` holds a lone surrogate (an escaped raw byte, or a broken string). */
export function hasLoneSurrogate(s: string): boolean {
  return !s.isWellFormed();
}

/** `s` with every lone surrogate replaced by U+FFFD: always encodable as UTF-8. */
export function displayText(s: string): string {
  if (s.isWellFormed()) return s;
  return s.replace(LONE_SURROGATE, '\ufffd');
}

const HEX = '0123456789ABCDEF';

/**
 * The exact bytes of `s` (raw bytes restored by encodeRaw), percent-encoded:
 * every byte outside printable ASCII 0x21..0x7E, and '%' itself, becomes %HH.
 * The result is printable ASCII without spaces, so it survives any transport
 * and splits cleanly on spaces; `fromExactBytes` reverses it.
 */
export function exactBytes(s: string): string {
  const b = encodeRaw(s);
  let out = '';
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c > 0x20 && c < 0x7f && c !== 0x25) out += String.fromCharCode(c);
    else out += `%${HEX[c >> 4]}${HEX[c & 15]}`;
  }
  return out;
}

/** The bytes an `exactBytes` string stands for (for consumers and tests). */
export function fromExactBytes(enc: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < enc.length; i++) {
    const ch = enc.charCodeAt(i);
    if (ch === 0x25) {
      const h = enc.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(h)) throw new RangeError(`bad percent escape at ${i} in exact-bytes text`);
      out.push(parseInt(h, 16));
      i += 2;
    } else if (ch > 0x20 && ch < 0x7f) {
      out.push(ch);
    } else {
      throw new RangeError(`character U+${ch.toString(16)} at ${i} is not allowed in exact-bytes text`);
    }
  }
  return Buffer.from(out);
}
