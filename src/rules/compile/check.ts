/**
 * Step 3 of compiling rules, check: one test of a condition becomes a typed
 * test (ir.ts) when its field is in the registry (fields.ts), its operator
 * suits the field's type, every operand has the field's type and every
 * regex/glob/CIDR compiles (RE2, patterns.ts); otherwise an error. Gives the
 * test's predicate on a field value too.
 */
import { SensorError } from '../../errors.js';
import { STR_OPS, type Literal, type Op } from '../condition.js';
import { FIELDS, type FieldSpec, type FieldValue } from '../fields.js';
import { compileCidr, compileGlob, compileRegex, PatternError, type Matcher } from '../patterns.js';
import type { Where } from '../source.js';
import { semantic } from './errors.js';
import type { TestIR } from './ir.js';

/** " (did you mean …?)" for an unknown field name, or nothing. */
export function suggest(name: string): string {
  const leaf = name.split('.').pop() ?? name;
  const near = [...fieldNames()].filter((f) => f.endsWith(`.${leaf}`)).slice(0, 3);
  return near.length ? ` (did you mean ${near.join(', ')}?)` : '';
}

function fieldNames(): IterableIterator<string> {
  return FIELDS.keys();
}

const ORDER_OPS = new Set<Op>(['<', '<=', '>', '>=']);
const ALLOWED: Record<FieldSpec['type'], ReadonlySet<Op>> = {
  keyword: new Set<Op>(['=', '!=', 'in', 'exists', ...STR_OPS]),
  id: new Set<Op>(['=', '!=', 'in', 'exists', '<', '<=', '>', '>=', ...STR_OPS.filter((o) => o !== 'cidr')]),
  long: new Set<Op>(['=', '!=', 'in', 'exists', '<', '<=', '>', '>=']),
  boolean: new Set<Op>(['=', '!=', 'exists']),
};

/** Build a typed test; pushes an error and returns undefined when it does not type-check. */
export function makeTest(spec: FieldSpec, op: Op, lits: Literal[], where: Where, errors: SensorError[]): TestIR | undefined {
  if (!ALLOWED[spec.type].has(op)) {
    const hint = spec.type === 'long' ? 'numbers take =, !=, <, <=, >, >=, in' : spec.type === 'boolean' ? 'booleans take = true/false' : 'use =, in, startswith, glob, …';
    errors.push(semantic(`type mismatch: ${spec.name} is ${spec.type}${spec.array ? '[]' : ''}, operator "${op}" does not apply (${hint})`, where, spec.name));
    return undefined;
  }
  if (op !== 'exists' && op !== 'in' && !STR_OPS.includes(op as never) && lits.length !== 1) {
    errors.push(semantic(`operator "${op}" takes one value`, where, spec.name));
    return undefined;
  }
  const bad = (l: Literal, why: string): undefined => {
    errors.push(semantic(`type mismatch: ${spec.name} is ${spec.type}, ${JSON.stringify(l.text)} ${why}`, l.where ?? where, spec.name));
    return undefined;
  };
  const values: Array<string | number | boolean> = [];
  for (const l of lits) {
    if (spec.type === 'long' || (spec.type === 'id' && ORDER_OPS.has(op))) {
      const n = Number(l.text);
      if (l.text.trim() === '' || !Number.isFinite(n)) return bad(l, 'is not a number');
      values.push(n);
    } else if (spec.type === 'boolean') {
      if (l.text !== 'true' && l.text !== 'false') return bad(l, 'is not true or false');
      values.push(l.text === 'true');
    } else if (spec.type === 'id' && !l.quoted && /^-?\d+$/.test(l.text)) {
      // Canonical decimal: user.id = 007 means "7", as ids are written.
      values.push(String(Number(l.text)));
    } else values.push(l.text);
  }
  let matchers: Matcher[] | undefined;
  if (op === 'regex' || op === 'glob' || op === 'cidr') {
    const compile = op === 'regex' ? compileRegex : op === 'glob' ? compileGlob : compileCidr;
    matchers = [];
    for (let i = 0; i < values.length; i++) {
      try {
        matchers.push(compile(String(values[i])));
      } catch (e) {
        if (!(e instanceof PatternError)) throw e;
        const code = op === 'cidr' ? 'ESENSOR_RULE_SEMANTIC' : 'ESENSOR_RULE_REGEX';
        errors.push(new SensorError(code, e.message, { ...(lits[i]?.where ?? where), field: spec.name }));
        return undefined;
      }
    }
  }
  const one = elementPredicate(spec, op, values, matchers);
  let pred: (v: FieldValue) => boolean;
  if (op === 'exists') pred = (v) => v !== undefined;
  else if (!spec.array) pred = one as (v: FieldValue) => boolean;
  else if (op === '!=') {
    const eq = elementPredicate(spec, '=', values, undefined);
    pred = (v) => v !== undefined && !(v as ReadonlyArray<string | number>).some(eq);
  } else pred = (v) => v !== undefined && (v as ReadonlyArray<string | number>).some(one);
  return { t: 'test', field: spec, op, values, pred };
}

/** A hash of s's first k characters, below 2^30 (a small integer: no allocation as a Map key). */
function prefixKey(s: string, k: number): number {
  let h = 0;
  for (let i = 0; i < k; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) & 0x3fffffff;
  return h;
}

/** The test on one (scalar) value. Absent values fail every test but `exists`. */
function elementPredicate(
  spec: FieldSpec,
  op: Op,
  values: ReadonlyArray<string | number | boolean>,
  matchers: Matcher[] | undefined,
): (v: unknown) => boolean {
  const first = values[0];
  const strs = values.map(String);
  switch (op) {
    case '=':
      return (v) => v === first;
    case '!=':
      return (v) => v !== undefined && v !== first;
    case 'in': {
      if (values.length <= 4) return (v) => v !== undefined && values.includes(v as never);
      const set = new Set<unknown>(values);
      return (v) => set.has(v);
    }
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const n = first as number;
      const num = spec.type === 'id' ? (v: unknown) => (typeof v === 'string' && v !== '' ? Number(v) : NaN) : (v: unknown) => v as number;
      if (op === '<') return (v) => v !== undefined && num(v) < n;
      if (op === '<=') return (v) => v !== undefined && num(v) <= n;
      if (op === '>') return (v) => v !== undefined && num(v) > n;
      return (v) => v !== undefined && num(v) >= n;
    }
    case 'startswith': {
      if (strs.length === 1) {
        const p = strs[0]!;
        return (v) => typeof v === 'string' && v.startsWith(p);
      }
      // Many prefixes (directory lists): index them by their first k
      // characters so a value is compared with the few that can match.
      const k = Math.min(8, ...strs.map((x) => x.length));
      if (k === 0 || strs.length < 4) {
        return (v) => {
          if (typeof v !== 'string') return false;
          for (const p of strs) if (v.startsWith(p)) return true;
          return false;
        };
      }
      // Keyed by a small-integer hash of those characters, not by their
      // substring: a substring per test was most of what the rules allocated
      // per open event (issue-14 point 6). Prefixes whose hashes collide share
      // a list; startsWith decides.
      const index = new Map<number, string[]>();
      for (const p of strs) {
        const key = prefixKey(p, k);
        if (!index.has(key)) index.set(key, []);
        index.get(key)!.push(p);
      }
      return (v) => {
        if (typeof v !== 'string' || v.length < k) return false;
        const cands = index.get(prefixKey(v, k));
        if (cands === undefined) return false;
        for (const p of cands) if (v.startsWith(p)) return true;
        return false;
      };
    }
    case 'endswith':
      return (v) => {
        if (typeof v !== 'string') return false;
        for (const p of strs) if (v.endsWith(p)) return true;
        return false;
      };
    case 'contains': {
      if (strs.length >= 4 && strs.every((x) => x.length > 0)) {
        // One pass over the value instead of one per needle. The pattern is
        // an alternation of escaped literals: no quantifier, so it cannot
        // backtrack (each position tries each literal once).
        const re = new RegExp(strs.map((x) => x.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')).join('|'));
        return (v) => typeof v === 'string' && re.test(v);
      }
      return (v) => {
        if (typeof v !== 'string') return false;
        for (const p of strs) if (v.includes(p)) return true;
        return false;
      };
    }
    case 'glob':
    case 'regex':
    case 'cidr': {
      const ms = matchers!;
      return (v) => {
        if (typeof v !== 'string') return false;
        for (const m of ms) if (m(v)) return true;
        return false;
      };
    }
    case 'exists':
      return (v) => v !== undefined;
  }
}
