/**
 * A strict CEF parser written from the ArcSight "Implementing ArcSight
 * Common Event Format" specification (rev. 23/25), for tests: it refuses
 * anything the spec does not allow instead of guessing, so a line that passes
 * here is one every lenient SIEM parser reads the same way.
 *
 *   CEF:Version|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity|Extension
 *
 * - Header fields: `\|` and `\\` are the only escapes; a bare `|` ends the
 *   field. Any other backslash sequence, or a control character, is an error.
 * - Severity: an integer 0-10 or Unknown/Low/Medium/High/Very-High.
 * - Extension: `key=value` pairs separated by single spaces. Keys are
 *   alphanumeric. A value runs up to the space before the next `key=` whose
 *   `=` is not escaped. Value escapes: `\\`, `\=`, `\n`, `\r`; any other
 *   backslash sequence, a bare `=` inside a value, a raw CR/LF or a duplicate
 *   key is an error.
 * - The line must be encodable as UTF-8 (no lone surrogates).
 */

export interface CefRecord {
  version: number;
  deviceVendor: string;
  deviceProduct: string;
  deviceVersion: string;
  signatureId: string;
  name: string;
  severity: string;
  /** Extension keys in order of appearance, values unescaped. */
  extension: Map<string, string>;
}

export class CefParseError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
    this.name = 'CefParseError';
  }
}

const SEVERITY_WORDS = new Set(['Unknown', 'Low', 'Medium', 'High', 'Very-High']);
const KEY_CHAR = /[A-Za-z0-9]/;

function isControl(c: number): boolean {
  return c < 0x20 || c === 0x7f;
}

/** Parse one CEF line (without its line terminator). Throws CefParseError. */
export function parseCef(line: string): CefRecord {
  if (!line.isWellFormed()) throw new CefParseError('line holds a lone surrogate (not UTF-8 text)', 0);
  if (!line.startsWith('CEF:')) throw new CefParseError('line does not start with "CEF:"', 0);
  const header: string[] = [];
  let i = 4;
  let cur = '';
  while (header.length < 7) {
    if (i >= line.length) throw new CefParseError(`header ends after ${header.length} of 7 fields`, i);
    const c = line.charCodeAt(i);
    if (c === 0x5c) {
      const n = line[i + 1];
      if (n === '|' || n === '\\') {
        cur += n;
        i += 2;
        continue;
      }
      throw new CefParseError(`invalid header escape "\\${n ?? ''}"`, i);
    }
    if (c === 0x7c) {
      header.push(cur);
      cur = '';
      i++;
      continue;
    }
    if (isControl(c)) throw new CefParseError(`control character U+${c.toString(16).padStart(4, '0')} in header`, i);
    cur += line[i];
    i++;
  }
  const [version, deviceVendor, deviceProduct, deviceVersion, signatureId, name, severity] = header as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (!/^\d+$/.test(version)) throw new CefParseError(`version "${version}" is not a number`, 4);
  if (!(/^(10|[0-9])$/.test(severity) || SEVERITY_WORDS.has(severity))) {
    throw new CefParseError(`severity "${severity}" is not 0-10 or a severity word`, i - 1);
  }
  const extension = parseExtension(line, i);
  return {
    version: Number(version),
    deviceVendor,
    deviceProduct,
    deviceVersion,
    signatureId,
    name,
    severity,
    extension,
  };
}

/** Is there a `key=` (unescaped '=') starting at `at`? Returns the index of '=' or -1. */
function keyAt(line: string, at: number): number {
  let j = at;
  while (j < line.length && KEY_CHAR.test(line[j]!)) j++;
  if (j === at || line[j] !== '=') return -1;
  return j;
}

function parseExtension(line: string, start: number): Map<string, string> {
  const out = new Map<string, string>();
  let i = start;
  if (i >= line.length) return out;
  while (i < line.length) {
    const eq = keyAt(line, i);
    if (eq < 0) throw new CefParseError('expected an extension key followed by "="', i);
    const key = line.slice(i, eq);
    if (out.has(key)) throw new CefParseError(`duplicate extension key "${key}"`, i);
    i = eq + 1;
    let value = '';
    for (;;) {
      if (i >= line.length) break;
      const c = line.charCodeAt(i);
      if (c === 0x20 && keyAt(line, i + 1) >= 0) {
        i++;
        break;
      }
      if (c === 0x5c) {
        const n = line[i + 1];
        if (n === '\\' || n === '=') value += n;
        else if (n === 'n') value += '\n';
        else if (n === 'r') value += '\r';
        else throw new CefParseError(`invalid extension escape "\\${n ?? ''}" in value of "${key}"`, i);
        i += 2;
        continue;
      }
      if (c === 0x3d) throw new CefParseError(`unescaped "=" in value of "${key}"`, i);
      if (c === 0x0a || c === 0x0d) throw new CefParseError(`raw line break in value of "${key}"`, i);
      value += line[i];
      i++;
    }
    out.set(key, value);
  }
  return out;
}

/** The CEF text of a value, escaped as the spec requires (for building expectations in tests). */
export function escapeCefValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/=/g, '\\=').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}
