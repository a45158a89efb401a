/**
 * Kernel strings are bytes, not text: a path may hold any byte but NUL and
 * '/'. Canonical events keep them losslessly with "surrogateescape" (as
 * Python does for file names): each byte that is not part of valid UTF-8
 * becomes the lone surrogate U+DC80+byte. Valid UTF-8 never decodes to a lone
 * surrogate, so the mapping is reversible; JSON.stringify writes such
 * characters as \udcXX escapes, so journals and captures keep them too.
 * Normalizers decide how to show them to a SIEM (see normalize/).
 */
import { isUtf8 } from 'node:buffer';

/** Decode bytes [start, end) of `buf` losslessly. */
export function decodeRaw(buf: Buffer, start: number, end: number): string {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (buf[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return buf.toString('latin1', start, end);
  const view = buf.subarray(start, end);
  if (isUtf8(view)) return view.toString('utf8');
  return decodeSlow(view);
}

function seqLen(b: number): number {
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 0;
}

function decodeSlow(view: Buffer): string {
  let out = '';
  let i = 0;
  while (i < view.length) {
    const b = view[i]!;
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    const n = seqLen(b);
    if (n > 0 && i + n <= view.length && isUtf8(view.subarray(i, i + n))) {
      out += view.toString('utf8', i, i + n);
      i += n;
      continue;
    }
    out += String.fromCharCode(0xdc00 + b);
    i++;
  }
  return out;
}

/** True when `s` holds escaped raw bytes (lone surrogates U+DC80..U+DCFF). */
export function hasRawBytes(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc80 && c <= 0xdcff) {
      const prev = i > 0 ? s.charCodeAt(i - 1) : 0;
      if (!(prev >= 0xd800 && prev <= 0xdbff)) return true;
    }
  }
  return false;
}

/** The original bytes of a decoded string. */
export function encodeRaw(s: string): Buffer {
  if (!hasRawBytes(s)) return Buffer.from(s, 'utf8');
  const parts: Buffer[] = [];
  let run = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const prev = i > 0 ? s.charCodeAt(i - 1) : 0;
    if (c >= 0xdc80 && c <= 0xdcff && !(prev >= 0xd800 && prev <= 0xdbff)) {
      if (run) parts.push(Buffer.from(run, 'utf8'));
      run = '';
      parts.push(Buffer.from([c - 0xdc00]));
    } else {
      run += s[i];
    }
  }
  if (run) parts.push(Buffer.from(run, 'utf8'));
  return Buffer.concat(parts);
}
