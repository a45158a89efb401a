/**
 * Enough of Splunk's search-time field processing to check the add-on in
 * contrib/splunk-addon against our documents without a Splunk: .conf
 * parsing, KV_MODE = json flattening (dotted names, arrays as name{}),
 * REPORT transforms (REGEX + FORMAT, MV_ADD), FIELDALIAS, and the eval
 * functions the add-on uses (coalesce, case, if, isnotnull, mvfind, replace,
 * lower, split, true; AND/OR; == != >= <= > <). Every EVAL sees the fields as
 * they were before the EVALs, as in Splunk.
 */
import { readFileSync } from 'node:fs';

export type Conf = Map<string, Map<string, string>>;
export type Value = string | number | string[] | undefined;
export type Fields = Map<string, Value>;

export function parseConf(file: string): Conf {
  const conf: Conf = new Map();
  let section: Map<string, string> | undefined;
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const s = /^\[(.*)\]$/.exec(line);
    if (s) {
      section = new Map();
      conf.set(s[1]!, section);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || !section) throw new Error(`${file}: cannot parse "${line}"`);
    section.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return conf;
}

/** KV_MODE = json: nested objects as dotted names, arrays of scalars as multivalue `name{}`. */
export function jsonFields(doc: unknown, prefix = '', out: Fields = new Map()): Fields {
  if (Array.isArray(doc)) {
    const vals = doc.filter((v) => v === null || typeof v !== 'object').map(String);
    if (vals.length) out.set(`${prefix}{}`, vals.length === 1 ? vals[0]! : vals);
    for (const v of doc) if (v && typeof v === 'object') jsonFields(v, `${prefix}{}`, out);
  } else if (doc && typeof doc === 'object') {
    for (const [k, v] of Object.entries(doc)) jsonFields(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (doc !== null && doc !== undefined) {
    out.set(prefix, typeof doc === 'number' ? doc : String(doc));
  }
  return out;
}

/** REPORT-*: each named transform's REGEX applied with its FORMAT (`name::$n` pairs, or `$1::$2` for key/value). */
export function applyReport(text: string, transforms: Conf, names: string[], out: Fields): void {
  for (const name of names) {
    const t = transforms.get(name);
    if (!t) throw new Error(`no transform ${name}`);
    const re = new RegExp(t.get('REGEX')!, 'g');
    const format = t.get('FORMAT')!;
    const mvAdd = t.get('MV_ADD') === 'true';
    const put = (field: string, value: string): void => {
      const prev = out.get(field);
      out.set(field, prev !== undefined && mvAdd ? [...[prev].flat().map(String), value] : value);
    };
    for (const m of text.matchAll(re)) {
      if (format === '$1::$2') put(m[1]!, m[2]!);
      else for (const pair of format.split(/\s+/)) {
        const [field, ref] = pair.split('::');
        put(field!, m[Number(ref!.slice(1))]!);
      }
      if (!mvAdd && format !== '$1::$2') break;
    }
  }
}

/** FIELDALIAS-*: `"a" AS b` pairs (quotes optional). */
export function applyAliases(stanza: Map<string, string>, f: Fields): void {
  const added: Array<[string, Value]> = [];
  for (const [k, v] of stanza) {
    if (!k.startsWith('FIELDALIAS-')) continue;
    for (const m of v.matchAll(/"?([^\s"]+)"?\s+AS\s+"?([^\s"]+)"?/g)) {
      if (f.has(m[1]!)) added.push([m[2]!, f.get(m[1]!)]);
    }
  }
  for (const [k, v] of added) f.set(k, v);
}

/** EVAL-*: all computed from the fields before any of them, then set. */
export function applyEvals(stanza: Map<string, string>, f: Fields): void {
  const out: Array<[string, Value]> = [];
  for (const [k, v] of stanza) if (k.startsWith('EVAL-')) out.push([k.slice(5), evaluate(v, f)]);
  for (const [k, v] of out) {
    if (v === undefined) f.delete(k);
    else f.set(k, v);
  }
}

// ---- eval ---------------------------------------------------------------------

type Tok = { t: 'str' | 'field' | 'num' | 'op' | 'id' | 'punct'; v: string };

function lex(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      let v = '';
      i++;
      while (s[i] !== '"') {
        if (i >= s.length) throw new Error(`unterminated string in ${s}`);
        if (s[i] === '\\') i++;
        v += s[i++];
      }
      i++;
      out.push({ t: 'str', v });
    } else if (c === "'") {
      const j = s.indexOf("'", i + 1);
      out.push({ t: 'field', v: s.slice(i + 1, j) });
      i = j + 1;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9.]+/.exec(s.slice(i))![0];
      out.push({ t: 'num', v: m });
      i += m.length;
    } else if (/[=!<>]/.test(c)) {
      const m = /^(==|!=|>=|<=|>|<|=)/.exec(s.slice(i))![0];
      out.push({ t: 'op', v: m === '=' ? '==' : m });
      i += m.length;
    } else if (/[(),]/.test(c)) {
      out.push({ t: 'punct', v: c });
      i++;
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_.{}@]*/.exec(s.slice(i));
      if (!m) throw new Error(`cannot lex ${s.slice(i)}`);
      out.push({ t: 'id', v: m[0] });
      i += m[0].length;
    }
  }
  return out;
}

const first = (v: Value): string | number | undefined => (Array.isArray(v) ? v[0] : v);
const mv = (v: Value): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [String(v)]);
const num = (v: string | number | undefined): number => (typeof v === 'number' ? v : v !== undefined && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : NaN);

export function evaluate(src: string, f: Fields): Value {
  const toks = lex(src);
  let p = 0;
  const peek = (): Tok | undefined => toks[p];
  const take = (v?: string): Tok => {
    const t = toks[p++];
    if (!t || (v !== undefined && t.v !== v)) throw new Error(`expected ${v ?? 'token'} at ${p} in ${src}`);
    return t;
  };
  const truthy = (v: Value): boolean => v !== undefined && v !== '' && v !== 0 && v !== 'false';
  function or(): Value {
    let l = and();
    while (peek()?.t === 'id' && peek()!.v === 'OR') {
      take();
      const r = and();
      l = truthy(l) || truthy(r) ? 1 : 0;
    }
    return l;
  }
  function and(): Value {
    let l = cmp();
    while (peek()?.t === 'id' && peek()!.v === 'AND') {
      take();
      const r = cmp();
      l = truthy(l) && truthy(r) ? 1 : 0;
    }
    return l;
  }
  function cmp(): Value {
    const l = primary();
    if (peek()?.t !== 'op') return l;
    const op = take().v;
    const r = primary();
    const a = first(l);
    const b = first(r);
    if (a === undefined || b === undefined) return 0;
    const na = num(a);
    const nb = num(b);
    const numeric = !Number.isNaN(na) && !Number.isNaN(nb);
    const x = numeric ? na : String(a);
    const y = numeric ? nb : String(b);
    const res = op === '==' ? x === y : op === '!=' ? x !== y : op === '>=' ? x >= y : op === '<=' ? x <= y : op === '>' ? x > y : x < y;
    return res ? 1 : 0;
  }
  function args(): Value[] {
    take('(');
    const a: Value[] = [];
    if (peek()?.v === ')') {
      take();
      return a;
    }
    for (;;) {
      a.push(or());
      if (take().v === ')') return a;
    }
  }
  function primary(): Value {
    const t = take();
    if (t.t === 'str') return t.v;
    if (t.t === 'num') return Number(t.v);
    if (t.t === 'field') return f.get(t.v);
    if (t.t === 'punct' && t.v === '(') {
      const v = or();
      take(')');
      return v;
    }
    if (t.t === 'id' && peek()?.v === '(') {
      const a = args();
      switch (t.v) {
        case 'true':
          return 1;
        case 'coalesce':
          return a.find((v) => v !== undefined && v !== '');
        case 'case':
          for (let i = 0; i + 1 < a.length; i += 2) if (truthy(a[i])) return a[i + 1];
          return undefined;
        case 'if':
          return truthy(a[0]) ? a[1] : a[2];
        case 'isnotnull':
          return a[0] !== undefined ? 1 : 0;
        case 'mvfind': {
          const i = mv(a[0]).findIndex((v) => new RegExp(String(a[1])).test(v));
          return i < 0 ? undefined : i;
        }
        case 'replace':
          return a[0] === undefined ? undefined : String(first(a[0])).replace(new RegExp(String(a[1]), 'g'), String(a[2]));
        case 'lower':
          return a[0] === undefined ? undefined : String(first(a[0])).toLowerCase();
        case 'split':
          return a[0] === undefined ? undefined : String(first(a[0])).split(String(a[1]));
        default:
          throw new Error(`eval function ${t.v} is not modelled (used in ${src})`);
      }
    }
    if (t.t === 'id') return f.get(t.v);
    throw new Error(`unexpected ${t.v} in ${src}`);
  }
  const v = or();
  if (p !== toks.length) throw new Error(`trailing tokens in ${src}`);
  return v;
}
