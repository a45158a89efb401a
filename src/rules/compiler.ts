/**
 * Rule files → a compiled ruleset.
 *
 * 1. merge: definitions from every file, in order; a later file overrides or
 *    appends to a rule, list or macro of an earlier one (docs/rules.md);
 * 2. resolve: macros are inlined and lists expanded (cycles are errors);
 *    exceptions become `and not (…)` terms;
 * 3. check: every field is in the registry (fields.ts), every operator
 *    suits the field's type, every operand has the field's type, every
 *    regex/glob compiles on RE2;
 * 4. compile: the AST becomes an IR of typed tests, specialized per event
 *    family (tests the family decides are folded to constants), then
 *    closures. A rule sits in the bucket of each family it can match.
 *
 * Every problem is collected with file:line:column; nothing is evaluated as code.
 */
import { createHash } from 'node:crypto';
import { basename, extname } from 'node:path';
import { SensorError } from '../errors.js';
import { EVENT_KINDS, type EventKind, type SensorEvent, type Severity } from '../model/event.js';
import { MAX_CONDITION_DEPTH, parseLocated, STR_OPS, type Expr, type Literal, type Op } from './condition.js';
import { ACTIONS_OF_KIND, SYSCALLS_OF_KIND, FIELDS, fieldSpec, type FieldSpec, type FieldValue } from './fields.js';
import { compileCidr, compileGlob, compileRegex, PatternError, type Matcher } from './patterns.js';
import type { Definition, ExceptionDef, ListDef, MacroDef, RuleDef, RuleFile, SourceText, Where } from './source.js';

/** A typed, checked test of one field. */
export interface TestIR {
  t: 'test';
  field: FieldSpec;
  op: Op;
  /** Operands after list expansion and type conversion. */
  values: ReadonlyArray<string | number | boolean>;
  /** Evaluates the test on a field value (undefined = absent). */
  pred: (v: FieldValue) => boolean;
}

export type IR =
  | TestIR
  | { t: 'and'; items: IR[] }
  | { t: 'or'; items: IR[] }
  | { t: 'not'; e: IR }
  | { t: 'const'; value: boolean };

export type EventPredicate = (ev: SensorEvent) => boolean;

/** A rule after compilation. */
export interface CompiledRule {
  id: string;
  name: string;
  description: string;
  severity: Severity;
  tags: readonly string[];
  action: 'alert' | 'kill';
  enabled: boolean;
  /** Base name of the file that defined it. */
  ruleset: string;
  /** The whole condition (exceptions included), before per-family specialization. */
  ir: IR;
  /** Families the rule can match. */
  kinds: ReadonlySet<EventKind>;
  /** Per family: the specialized predicate. */
  predicates: ReadonlyMap<EventKind, EventPredicate>;
  /** Per family: the specialized IR (the engine shares common leading tests between rules). */
  specialized: ReadonlyMap<EventKind, IR>;
  render: (ev: SensorEvent) => string;
  /** Declaration order: matches are reported in this order. */
  order: number;
  where: Where;
}

export interface CompileResult {
  rules: CompiledRule[];
  errors: SensorError[];
  /** Lists after merging (names → items), for tools and tests. */
  lists: ReadonlyMap<string, readonly string[]>;
  version: string;
}

const SEVERITY_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };
export { SEVERITY_RANK };

interface ListState {
  items: Array<{ value: string; where: Where }>;
  where: Where;
  file: string;
}

interface MacroState {
  expr: Expr | undefined;
  where: Where;
  file: string;
}

interface RuleState {
  def: RuleDef;
  cond: Expr | undefined;
  file: string;
  order: number;
}

function semantic(message: string, where: Where, field?: string): SensorError {
  return new SensorError('ESENSOR_RULE_SEMANTIC', message, { ...where, ...(field !== undefined ? { field } : {}) });
}

/** Combine an inherited condition with an appended "and …"/"or …" continuation. */
function appendCond(base: Expr | undefined, src: SourceText, errors: SensorError[]): Expr | undefined {
  try {
    const c = parseLocated(src, true);
    if (!base) return c.e;
    return { t: c.joiner!, items: [base, c.e], at: base.at, ...(base.where ? { where: base.where } : {}) };
  } catch (e) {
    errors.push(e as SensorError);
    return base;
  }
}

function parseCond(src: SourceText | undefined, errors: SensorError[]): Expr | undefined {
  if (!src) return undefined;
  try {
    return parseLocated(src).e;
  } catch (e) {
    errors.push(e as SensorError);
    return undefined;
  }
}

class Merger {
  readonly lists = new Map<string, ListState>();
  readonly macros = new Map<string, MacroState>();
  readonly rules = new Map<string, RuleState>();
  private order = 0;
  constructor(private readonly errors: SensorError[]) {}

  add(file: string, d: Definition): void {
    if (d.type === 'list') this.list(file, d);
    else if (d.type === 'macro') this.macro(file, d);
    else this.rule(file, d);
  }

  private list(file: string, d: ListDef): void {
    const prev = this.lists.get(d.name);
    if (d.override) {
      if (!prev) return void this.errors.push(semantic(`override of list "${d.name}", which no earlier file defines`, d.where, 'list'));
      const mode = d.override.items;
      if (mode === 'append') prev.items.push(...(d.items ?? []));
      else if (mode === 'replace') prev.items = [...(d.items ?? [])];
      return;
    }
    if (prev && prev.file === file) {
      this.errors.push(semantic(`list "${d.name}" is defined twice in this file (first at line ${prev.where.line})`, d.where, 'list'));
      return;
    }
    this.lists.set(d.name, { items: [...(d.items ?? [])], where: d.where, file });
  }

  private macro(file: string, d: MacroDef): void {
    const prev = this.macros.get(d.name);
    if (d.override) {
      if (!prev) return void this.errors.push(semantic(`override of macro "${d.name}", which no earlier file defines`, d.where, 'macro'));
      if (!d.condition) return void this.errors.push(semantic(`override of macro "${d.name}" names condition but gives none`, d.where, 'condition'));
      if (d.override.condition === 'append') prev.expr = appendCond(prev.expr, d.condition, this.errors);
      else prev.expr = parseCond(d.condition, this.errors);
      return;
    }
    if (prev && prev.file === file) {
      this.errors.push(semantic(`macro "${d.name}" is defined twice in this file (first at line ${prev.where.line})`, d.where, 'macro'));
      return;
    }
    this.macros.set(d.name, { expr: parseCond(d.condition, this.errors), where: d.where, file });
  }

  private rule(file: string, d: RuleDef): void {
    const prev = this.rules.get(d.id);
    if (!d.override) {
      if (prev && prev.file === file) {
        this.errors.push(semantic(`rule "${d.id}" is defined twice in this file (first at line ${prev.def.where.line})`, d.where, 'rule'));
        return;
      }
      // A plain definition in a later file replaces the earlier one whole;
      // it keeps the earlier one's place in the reporting order.
      this.rules.set(d.id, { def: d, cond: parseCond(d.condition, this.errors), file, order: prev?.order ?? this.order++ });
      return;
    }
    if (!prev) return void this.errors.push(semantic(`override of rule "${d.id}", which no earlier file defines`, d.where, 'rule'));
    const next: RuleDef = { ...prev.def, exceptions: [...(prev.def.exceptions ?? [])] };
    let cond = prev.cond;
    for (const [key, mode] of Object.entries(d.override)) {
      const at = d.keys[key] ?? d.where;
      const value = (d as unknown as Record<string, unknown>)[key];
      if (value === undefined) {
        this.errors.push(semantic(`override names "${key}" but the definition gives no ${key}`, d.keys.override ?? d.where, key));
        continue;
      }
      switch (key) {
        case 'condition':
          cond = mode === 'append' ? appendCond(cond, d.condition!, this.errors) : parseCond(d.condition, this.errors);
          break;
        case 'tags':
          next.tags = mode === 'append' ? [...new Set([...(next.tags ?? []), ...d.tags!])] : [...d.tags!];
          break;
        case 'exceptions':
          next.exceptions = mode === 'append' ? mergeExceptions(next.exceptions ?? [], d.exceptions!, this.errors) : [...d.exceptions!];
          break;
        case 'desc':
          next.desc = mode === 'append' ? `${next.desc ?? ''} ${d.desc!}`.trim() : d.desc!;
          break;
        case 'output':
          if (mode === 'append') {
            this.errors.push(semantic(`output can only be replaced, not appended`, at, key));
            break;
          }
          next.output = d.output!;
          break;
        default:
          if (mode === 'append') {
            this.errors.push(semantic(`${key} can only be replaced, not appended`, at, key));
            break;
          }
          (next as unknown as Record<string, unknown>)[key] = value;
      }
    }
    for (const key of Object.keys(d.keys)) {
      if (['rule', 'override'].includes(key) || key in d.override) continue;
      this.errors.push(semantic(`"${key}" is given but not named in override; add ${key}: replace (or append)`, d.keys[key]!, key));
    }
    this.rules.set(d.id, { def: next, cond, file: prev.file, order: prev.order });
  }
}

function mergeExceptions(prev: ExceptionDef[], add: ExceptionDef[], errors: SensorError[]): ExceptionDef[] {
  const out = prev.map((e) => ({ ...e, values: [...e.values] }));
  for (const e of add) {
    const same = out.find((p) => p.name === e.name);
    if (!same) {
      out.push(e);
      continue;
    }
    if (same.fields.join(',') !== e.fields.join(',') || same.comps.join(',') !== e.comps.join(',')) {
      errors.push(semantic(`exception "${e.name}" is appended with other fields/comps than it was defined with`, e.where, 'exceptions'));
      continue;
    }
    same.values.push(...e.values);
  }
  return out;
}

/** Resolves macros and lists, type-checks tests and builds the IR of one rule. */
class Resolver {
  private readonly listCache = new Map<string, string[]>();
  constructor(
    private readonly lists: Map<string, ListState>,
    private readonly macros: Map<string, MacroState>,
    private readonly errors: SensorError[],
  ) {}

  /** A list's items with nested list names expanded. */
  listItems(name: string, stack: string[] = []): string[] {
    const cached = this.listCache.get(name);
    if (cached) return cached;
    const l = this.lists.get(name)!;
    if (stack.includes(name)) {
      this.errors.push(semantic(`list cycle: ${[...stack, name].join(' → ')}`, l.where, 'items'));
      return [];
    }
    if (stack.length > MAX_CONDITION_DEPTH) {
      this.errors.push(semantic(`lists nest deeper than ${MAX_CONDITION_DEPTH} levels`, l.where, 'items'));
      return [];
    }
    const out: string[] = [];
    for (const it of l.items) {
      if (this.lists.has(it.value)) out.push(...this.listItems(it.value, [...stack, name]));
      else out.push(it.value);
    }
    this.listCache.set(name, out);
    return out;
  }

  /**
   * The IR of a condition, macros inlined. `depth` counts nesting across
   * macros: a long macro chain nests as deep as parentheses do.
   */
  ir(e: Expr, stack: string[], depth = 0): IR {
    // Each level of the parser's bound can add a few here (and/or, not, macro).
    if (depth > 4 * MAX_CONDITION_DEPTH) {
      const where = e.where ?? { file: '?', line: 0, column: 0 };
      this.errors.push(semantic(`the condition nests deeper than ${4 * MAX_CONDITION_DEPTH} levels (macros included)`, where, stack[0] ?? 'condition'));
      return { t: 'const', value: false };
    }
    switch (e.t) {
      case 'and':
      case 'or':
        return { t: e.t, items: e.items.map((x) => this.ir(x, stack, depth + 1)) };
      case 'not':
        return { t: 'not', e: this.ir(e.e, stack, depth + 1) };
      case 'macro': {
        const m = this.macros.get(e.name);
        const where = e.where ?? { file: '?', line: 0, column: 0 };
        if (!m) {
          if (fieldSpec(e.name)) this.errors.push(semantic(`field "${e.name}" needs a test (=, in, exists, …)`, where, e.name));
          else this.errors.push(semantic(`undefined macro "${e.name}"`, where, e.name));
          return { t: 'const', value: false };
        }
        if (stack.includes(e.name)) {
          this.errors.push(semantic(`macro cycle: ${[...stack, e.name].join(' → ')}`, where, e.name));
          return { t: 'const', value: false };
        }
        if (!m.expr) return { t: 'const', value: false };
        stack.push(e.name);
        try {
          return this.ir(m.expr, stack, depth + 1);
        } finally {
          stack.pop();
        }
      }
      case 'test':
        return this.test(e);
    }
  }

  /** Expand list names among the operands. */
  private operands(e: Extract<Expr, { t: 'test' }>): Literal[] {
    const out: Literal[] = [];
    for (const v of e.values) {
      if (!v.quoted && this.lists.has(v.text)) {
        for (const item of this.listItems(v.text)) out.push({ text: item, quoted: true, at: v.at, ...(v.where ? { where: v.where } : {}) });
      } else {
        if (e.op === 'in' && !e.list) {
          this.errors.push(semantic(`"${v.text}" is not a list; write ${e.field} in (${v.text}) for a one-item list`, v.where!, e.field));
        }
        out.push(v);
      }
    }
    return out;
  }

  test(e: Extract<Expr, { t: 'test' }>): IR {
    const where = e.where ?? { file: '?', line: 0, column: 0 };
    const spec = fieldSpec(e.field);
    if (!spec) {
      this.errors.push(semantic(`unknown field "${e.field}"${suggest(e.field)}`, where, e.field));
      return { t: 'const', value: false };
    }
    const lits = e.op === 'exists' ? [] : this.operands(e);
    return makeTest(spec, e.op, lits, e.opWhere ?? where, this.errors) ?? { t: 'const', value: false };
  }
}

function suggest(name: string): string {
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
      const index = new Map<string, string[]>();
      for (const p of strs) {
        const key = p.slice(0, k);
        if (!index.has(key)) index.set(key, []);
        index.get(key)!.push(p);
      }
      return (v) => {
        if (typeof v !== 'string' || v.length < k) return false;
        const cands = index.get(v.slice(0, k));
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

/** The candidate values of fields a family (or an analysis) decides. */
export type Facts = ReadonlyMap<string, readonly FieldValue[]>;

/** Facts every event of a family satisfies: its kind, its actions, the fields it never carries. */
export function kindFacts(kind: EventKind): Map<string, readonly FieldValue[]> {
  const f = new Map<string, readonly FieldValue[]>();
  f.set('ebpf.kind', [kind]);
  f.set('event.action', ACTIONS_OF_KIND[kind]);
  // A tamper event names the syscall whose argument changed; a loss event none.
  if (kind !== 'tamper' && kind !== 'loss') f.set('ebpf.syscall', SYSCALLS_OF_KIND[kind]);
  for (const spec of FIELDS.values()) if (!spec.kinds.has(kind)) f.set(spec.name, [undefined]);
  return f;
}

/** Fold the tests the facts decide into constants and simplify. */
export function specialize(ir: IR, facts: Facts): IR {
  switch (ir.t) {
    case 'const':
      return ir;
    case 'test': {
      const cands = facts.get(ir.field.name);
      if (!cands) return ir;
      let t = 0;
      for (const c of cands) if (ir.pred(c)) t++;
      if (t === cands.length) return { t: 'const', value: true };
      if (t === 0) return { t: 'const', value: false };
      return ir;
    }
    case 'not': {
      const e = specialize(ir.e, facts);
      if (e.t === 'const') return { t: 'const', value: !e.value };
      return { t: 'not', e };
    }
    case 'and':
    case 'or': {
      const absorbing = ir.t === 'or';
      const items: IR[] = [];
      for (const x of ir.items) {
        const s = specialize(x, facts);
        if (s.t === 'const') {
          if (s.value === absorbing) return s;
          continue;
        }
        if (s.t === ir.t) items.push(...s.items);
        else items.push(s);
      }
      if (items.length === 0) return { t: 'const', value: !absorbing };
      if (items.length === 1) return items[0]!;
      return { t: ir.t, items };
    }
  }
}

/** A structural key: equal keys mean equal tests (used to evaluate a shared test once). */
export function irKey(ir: IR): string {
  switch (ir.t) {
    case 'const':
      return String(ir.value);
    case 'test':
      return `${ir.field.name} ${ir.op} ${JSON.stringify(ir.values)}`;
    case 'not':
      return `not(${irKey(ir.e)})`;
    case 'and':
    case 'or':
      return `${ir.t}(${ir.items.map(irKey).join(',')})`;
  }
}

/** IR → closure. Small arities get dedicated closures: they are the hot path. */
export function toClosure(ir: IR): EventPredicate {
  switch (ir.t) {
    case 'const': {
      const v = ir.value;
      return () => v;
    }
    case 'test': {
      const get = ir.field.get;
      const pred = ir.pred;
      if (!ir.field.array && ir.op === '=') {
        const want = ir.values[0];
        return (ev) => get(ev) === want;
      }
      return (ev) => pred(get(ev));
    }
    case 'not': {
      const e = toClosure(ir.e);
      return (ev) => !e(ev);
    }
    case 'and': {
      const fs = ir.items.map(toClosure);
      if (fs.length === 2) {
        const [a, b] = fs as [EventPredicate, EventPredicate];
        return (ev) => a(ev) && b(ev);
      }
      if (fs.length === 3) {
        const [a, b, c] = fs as [EventPredicate, EventPredicate, EventPredicate];
        return (ev) => a(ev) && b(ev) && c(ev);
      }
      return (ev) => {
        for (const f of fs) if (!f(ev)) return false;
        return true;
      };
    }
    case 'or': {
      const fs = ir.items.map(toClosure);
      if (fs.length === 2) {
        const [a, b] = fs as [EventPredicate, EventPredicate];
        return (ev) => a(ev) || b(ev);
      }
      return (ev) => {
        for (const f of fs) if (f(ev)) return true;
        return false;
      };
    }
  }
}

/** `%{field}` templates: fields are checked at load time. */
function compileOutput(src: SourceText | undefined, errors: SensorError[]): (ev: SensorEvent) => string {
  if (!src) return () => '';
  const parts: Array<string | FieldSpec> = [];
  const re = /%\{([^}]*)\}/g;
  let last = 0;
  let ok = true;
  for (let m = re.exec(src.text); m; m = re.exec(src.text)) {
    parts.push(src.text.slice(last, m.index));
    const name = m[1]!.trim();
    const spec = fieldSpec(name);
    if (!spec) {
      errors.push(semantic(`output: unknown field "${name}"${suggest(name)}`, src.pos(m.index + 2), 'output'));
      ok = false;
    } else parts.push(spec);
    last = m.index + m[0].length;
  }
  parts.push(src.text.slice(last));
  if (!ok) return () => src.text;
  return (ev) => {
    let s = '';
    for (const p of parts) {
      if (typeof p === 'string') s += p;
      else {
        const v = p.get(ev);
        s += v === undefined ? '<NA>' : Array.isArray(v) ? v.join(' ') : String(v);
      }
    }
    return s;
  };
}

const EXCEPTION_OPS = new Set(['=', '!=', 'in', 'startswith', 'endswith', 'contains', 'glob']);

/** Exceptions → IR: not ((t11 and t12) or (t21 and t22) …) per exception. */
function exceptionIR(ex: ExceptionDef, lists: Resolver, listNames: ReadonlySet<string>, errors: SensorError[]): IR | undefined {
  const specs: FieldSpec[] = [];
  for (const f of ex.fields) {
    const s = fieldSpec(f);
    if (!s) {
      errors.push(semantic(`exception "${ex.name}": unknown field "${f}"${suggest(f)}`, ex.where, f));
      return undefined;
    }
    specs.push(s);
  }
  if (ex.comps.length !== ex.fields.length) {
    errors.push(semantic(`exception "${ex.name}": ${ex.fields.length} fields but ${ex.comps.length} comps`, ex.where, 'comps'));
    return undefined;
  }
  const alts: IR[] = [];
  for (const row of ex.values) {
    if (row.tuple.length !== specs.length) {
      errors.push(semantic(`exception "${ex.name}": a value tuple has ${row.tuple.length} values for ${specs.length} fields`, row.where, 'values'));
      continue;
    }
    const tests: IR[] = [];
    specs.forEach((spec, i) => {
      const op = ex.comps[i]! as Op;
      if (!EXCEPTION_OPS.has(op)) return;
      const raw = row.tuple[i]!;
      const items = Array.isArray(raw) ? raw : [raw];
      const lits: Literal[] = [];
      for (const it of items) {
        const text = String(it);
        if (typeof it === 'string' && listNames.has(text)) {
          for (const x of lists.listItems(text)) lits.push({ text: x, quoted: true, at: 0, where: row.where });
        } else lits.push({ text, quoted: typeof it === 'string', at: 0, where: row.where });
      }
      const t = makeTest(spec, op, lits, row.where, errors);
      if (t) tests.push(t);
    });
    if (tests.length === specs.length) alts.push(tests.length === 1 ? tests[0]! : { t: 'and', items: tests });
  }
  if (!alts.length) return undefined;
  return { t: 'not', e: alts.length === 1 ? alts[0]! : { t: 'or', items: alts } };
}

export interface CompileOptions {
  /** Items appended to lists after every file (runtime facts such as the sensor's own pid and files). */
  lists?: Readonly<Record<string, readonly string[]>>;
}

/** Merge and compile rule files. Never throws for problems in the files: they are returned. */
export function compileRules(files: readonly RuleFile[], opts: CompileOptions = {}): CompileResult {
  const errors: SensorError[] = [];
  const merger = new Merger(errors);
  for (const f of files) for (const d of f.defs) merger.add(f.file, d);
  for (const [name, items] of Object.entries(opts.lists ?? {})) {
    const where = { file: '(runtime)', line: 0, column: 0 };
    const add = items.map((value) => ({ value, where }));
    const l = merger.lists.get(name);
    if (l) l.items.push(...add);
    else merger.lists.set(name, { items: add, where, file: '(runtime)' });
  }
  const resolver = new Resolver(merger.lists, merger.macros, errors);
  const listNames = new Set(merger.lists.keys());
  // Check every macro once on its own, so an unused broken macro is reported too.
  for (const [name, m] of merger.macros) if (m.expr) resolver.ir(m.expr, [name]);
  for (const name of merger.lists.keys()) resolver.listItems(name);

  const rules: CompiledRule[] = [];
  const facts = new Map(EVENT_KINDS.map((k) => [k, kindFacts(k)] as const));
  const states = [...merger.rules.values()].sort((a, b) => a.order - b.order);
  for (const st of states) {
    const d = st.def;
    const before = errors.length;
    if (!st.cond) {
      if (!d.condition) errors.push(semantic(`rule "${d.id}" has no condition`, d.where, 'condition'));
      continue;
    }
    const cond = resolver.ir(st.cond, []);
    const exc: IR[] = [];
    for (const ex of d.exceptions ?? []) {
      const x = exceptionIR(ex, resolver, listNames, errors);
      if (x) exc.push(x);
    }
    const render = compileOutput(d.output, errors);
    for (const key of ['desc', 'output', 'severity'] as const) {
      if (d[key] === undefined) errors.push(semantic(`rule "${d.id}" has no ${key}`, d.where, key));
    }
    if (errors.length !== before) continue;
    const ir: IR = exc.length ? { t: 'and', items: [cond, ...exc] } : cond;
    const predicates = new Map<EventKind, EventPredicate>();
    const specialized = new Map<EventKind, IR>();
    for (const k of EVENT_KINDS) {
      const s = specialize(ir, facts.get(k)!);
      if (s.t === 'const' && !s.value) continue;
      predicates.set(k, toClosure(s));
      specialized.set(k, s);
    }
    if (predicates.size === 0) {
      errors.push(semantic(`rule "${d.id}" can never match: its condition is false for every event family`, d.where, 'condition'));
      continue;
    }
    rules.push({
      id: d.id,
      name: d.name ?? d.id,
      description: d.desc!,
      severity: d.severity!,
      tags: Object.freeze([...(d.tags ?? [])]),
      action: d.action ?? 'alert',
      enabled: d.enabled ?? true,
      ruleset: basename(st.file, extname(st.file)),
      ir,
      kinds: new Set(predicates.keys()),
      predicates,
      specialized,
      render,
      order: st.order,
      where: d.where,
    });
  }
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${basename(f.file)}\0${f.text}\0`);
  const lists = new Map([...merger.lists.keys()].map((n) => [n, resolver.listItems(n)] as const));
  return { rules, errors: sortErrors(errors), lists, version: hash.digest('hex').slice(0, 12) };
}

/** Errors in file order, then line, then column: what a reader expects from lint. */
export function sortErrors(errors: SensorError[]): SensorError[] {
  // A broken macro is reported once, not once per rule that uses it.
  const seen = new Set<string>();
  const unique = errors.filter((e) => {
    const k = `${e.file}:${e.line}:${e.column}:${e.code}:${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return unique
    .map((e, i) => ({ e, i }))
    .sort((a, b) => {
      if ((a.e.file ?? '') !== (b.e.file ?? '')) return a.i - b.i;
      return (a.e.line ?? 0) - (b.e.line ?? 0) || (a.e.column ?? 0) - (b.e.column ?? 0) || a.i - b.i;
    })
    .map((x) => x.e);
}
