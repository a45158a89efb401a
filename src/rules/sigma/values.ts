/**
 * One Sigma field test (`Field|mod|mod: value(s)`) → one expression of our
 * condition language.
 *
 * Takes our field (name and type), the Sigma modifiers and values; gives the
 * condition text, or throws `Unsupported` with the reason. Sigma semantics:
 * a list of values matches when any value does (`|all`: every value); `*`
 * and `?` are wildcards (`\*`, `\?`, `\\` escape them); contains /
 * startswith / endswith add wildcards around the value; `re` is a regular
 * expression (RE2 here: our compiler rejects lookaround and backreferences);
 * `cidr` a network; null means the field is absent. Values are compared
 * case-sensitively: Linux paths and arguments are case-sensitive, and the
 * kernel-side path filters compare bytes.
 */
import type { FieldMap } from './logsource.js';

/** A Sigma construct we do not convert; the message is the reason reported. */
export class Unsupported extends Error {}

/** Double-quoted operand of our condition language (only `\` and `"` need escaping). */
export function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

type Piece = { lit: string } | { any: true } | { one: true };

/** Split a Sigma value into literal runs and wildcards. */
function pieces(value: string): Piece[] {
  const out: Piece[] = [];
  let lit = '';
  const flush = (): void => {
    if (lit) out.push({ lit });
    lit = '';
  };
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && i + 1 < value.length && '*?\\'.includes(value[i + 1]!)) {
      lit += value[++i];
    } else if (c === '*') {
      flush();
      if (!('any' in (out[out.length - 1] ?? {}))) out.push({ any: true });
    } else if (c === '?') {
      flush();
      out.push({ one: true });
    } else lit += c;
  }
  flush();
  return out;
}

const RE_META = /[\\^$.|?*+()[\]{}]/g;

/** Our operator and operand for one value under a string modifier. */
function stringTest(value: string, mod: 'eq' | 'contains' | 'startswith' | 'endswith'): { op: string; v: string } {
  const ps = pieces(value);
  if (mod === 'contains' || mod === 'endswith') ps.unshift({ any: true });
  if (mod === 'contains' || mod === 'startswith') ps.push({ any: true });
  const norm: Piece[] = [];
  for (const p of ps) if (!('any' in p && 'any' in (norm[norm.length - 1] ?? {}))) norm.push(p);
  const shape = norm.map((p) => ('lit' in p ? 'L' : 'any' in p ? '*' : '?')).join('');
  const lit = (i: number): string => (norm[i] as { lit: string }).lit;
  switch (shape) {
    case '':
      return { op: '=', v: '' };
    case 'L':
      return { op: '=', v: lit(0) };
    case '*L*':
      return { op: 'contains', v: lit(1) };
    case 'L*':
      return { op: 'startswith', v: lit(0) };
    case '*L':
      return { op: 'endswith', v: lit(1) };
    case '*':
      return { op: 'exists', v: '' };
  }
  const re = norm.map((p) => ('lit' in p ? p.lit.replace(RE_META, '\\$&') : 'any' in p ? '.*' : '.')).join('');
  return { op: 'regex', v: `^${re}$`.replace(/^\^\.\*/, '').replace(/\.\*\$$/, '') };
}

const UNSUPPORTED_MODS: Record<string, string> = {
  windash: 'windash (Windows option dashes) is not converted',
  base64: 'base64 is not converted',
  base64offset: 'base64offset is not converted',
  wide: 'wide/utf16 encodings are Windows-only',
  utf16: 'wide/utf16 encodings are Windows-only',
  utf16le: 'wide/utf16 encodings are Windows-only',
  utf16be: 'wide/utf16 encodings are Windows-only',
  expand: 'expand (placeholders) is not converted',
  fieldref: 'fieldref (comparing two fields) is not expressible in our conditions',
};

const ORDER: Record<string, string> = { gt: '>', gte: '>=', lt: '<', lte: '<=' };

/** Join tests with and/or, parenthesized when more than one. */
export function join(items: string[], op: 'and' | 'or'): string {
  if (items.length === 1) return items[0]!;
  return `(${items.join(` ${op} `)})`;
}

/** One Sigma field test → our condition text. */
export function fieldTest(map: FieldMap, sigmaField: string, mods: string[], raw: unknown): string {
  const f = map.field;
  const values = Array.isArray(raw) ? raw : [raw];
  if (values.length === 0) throw new Unsupported(`${sigmaField}: empty value list`);
  let all = false;
  let strMod: 'eq' | 'contains' | 'startswith' | 'endswith' = 'eq';
  let special: 're' | 'cidr' | 'exists' | 'order' | undefined;
  let order = '';
  let reFlags = '';
  for (const m of mods) {
    if (UNSUPPORTED_MODS[m]) throw new Unsupported(`${sigmaField}|${m}: ${UNSUPPORTED_MODS[m]}`);
    if (m === 'all') all = true;
    else if (m === 'cased') continue; // our comparisons are case-sensitive already
    else if (m === 'contains' || m === 'startswith' || m === 'endswith') strMod = m;
    else if (m === 're' || m === 'cidr' || m === 'exists') special = m;
    else if (m === 'i' || m === 'm' || m === 's') reFlags += m;
    else if (ORDER[m]) {
      special = 'order';
      order = ORDER[m];
    } else throw new Unsupported(`${sigmaField}|${m}: unknown modifier "${m}"`);
  }
  if (reFlags && special !== 're') throw new Unsupported(`${sigmaField}|${reFlags}: regex flags without re`);

  if (map.type === 'direction') {
    if (mods.length) throw new Unsupported(`${sigmaField}: modifiers on Initiated`);
    const dirs = values.map((v) => {
      const s = String(v).toLowerCase();
      if (s === 'true') return 'egress';
      if (s === 'false') return 'ingress';
      throw new Unsupported(`${sigmaField}: value ${JSON.stringify(v)} is not true or false`);
    });
    return dirs.length === 1 ? `${f} = ${dirs[0]}` : `${f} in (${dirs.join(', ')})`;
  }
  if (special === 'exists') {
    if (values.length !== 1 || typeof values[0] !== 'boolean') throw new Unsupported(`${sigmaField}|exists: needs true or false`);
    return values[0] ? `${f} exists` : `not ${f} exists`;
  }
  const tests: string[] = [];
  const push = (op: string, vs: string[]): void => {
    if (all) for (const v of vs) tests.push(`${f} ${op} ${v}`);
    else if (op === '=' && vs.length > 1) tests.push(`${f} in (${vs.join(', ')})`);
    else if (vs.length === 1) tests.push(`${f} ${op} ${vs[0]}`);
    else tests.push(`${f} ${op} (${vs.join(', ')})`);
  };
  const nulls = values.filter((v) => v === null);
  const present = values.filter((v) => v !== null);
  if (nulls.length) tests.push(`not ${f} exists`);

  if (map.type === 'long') {
    if (strMod !== 'eq' || (special && special !== 'order')) throw new Unsupported(`${sigmaField} is a number here (${f}): string modifiers do not apply`);
    const nums = present.map((v) => {
      const s = String(v);
      if (!/^-?\d+$/.test(s)) throw new Unsupported(`${sigmaField}: ${JSON.stringify(v)} is not a number (${f} is numeric)`);
      return String(Number(s));
    });
    if (special === 'order') {
      if (nums.length !== 1) throw new Unsupported(`${sigmaField}|${order}: one value`);
      return `${f} ${order} ${nums[0]}`;
    }
    if (nums.length) push('=', nums);
    return join(tests, all ? 'and' : 'or');
  }

  if (special === 'order') throw new Unsupported(`${sigmaField}: ${order} on a text field (${f})`);
  for (const v of present) {
    if (typeof v === 'object') throw new Unsupported(`${sigmaField}: nested value ${JSON.stringify(v)}`);
  }
  const strs = present.map((v) => String(v));
  if (special === 're') {
    if (strMod !== 'eq') throw new Unsupported(`${sigmaField}: re combined with ${strMod}`);
    const prefix = reFlags ? `(?${reFlags})` : '';
    if (strs.length) push('regex', strs.map((s) => quote(prefix + s)));
    return join(tests, all ? 'and' : 'or');
  }
  if (special === 'cidr') {
    if (strMod !== 'eq') throw new Unsupported(`${sigmaField}: cidr combined with ${strMod}`);
    if (strs.length) push('cidr', strs.map(quote));
    return join(tests, all ? 'and' : 'or');
  }
  // Group values by the operator they turn into, in first-seen order (stable output).
  const groups = new Map<string, string[]>();
  for (const s of strs) {
    const t = stringTest(s, strMod);
    if (t.op === 'exists') {
      tests.push(`${f} exists`);
      continue;
    }
    if (!groups.has(t.op)) groups.set(t.op, []);
    groups.get(t.op)!.push(quote(t.v));
  }
  for (const [op, vs] of groups) push(op, vs);
  return join(tests, all ? 'and' : 'or');
}
