/**
 * Rule files → a compiled ruleset.
 *
 * 1. merge (compile/merge.ts): definitions from every file, in order; a later
 *    file overrides or appends to a rule, list or macro of an earlier one
 *    (docs/rules.md);
 * 2. resolve (compile/resolve.ts): macros are inlined and lists expanded
 *    (cycles are errors); exceptions become `and not (…)` terms;
 * 3. check (compile/check.ts): every field is in the registry (fields.ts),
 *    every operator suits the field's type, every operand has the field's
 *    type, every regex/glob compiles on RE2;
 * 4. compile (compile/specialize.ts, compile/output.ts): the AST becomes an
 *    IR of typed tests (compile/ir.ts), specialized per event family (tests
 *    the family decides are folded to constants), then closures. A rule sits
 *    in the bucket of each family it can match.
 *
 * Every problem is collected with file:line:column (compile/errors.ts sorts
 * them); nothing is evaluated as code. This file runs the steps.
 */
import { createHash } from 'node:crypto';
import { basename, extname } from 'node:path';
import type { SensorError } from '../errors.js';
import { EVENT_KINDS, type EventKind, type SensorEvent, type Severity } from '../model/event.js';
import type { RuleFile, Where } from './source.js';
import { semantic, sortErrors } from './compile/errors.js';
import type { EventPredicate, IR } from './compile/ir.js';
import { Merger } from './compile/merge.js';
import { compileOutput } from './compile/output.js';
import { exceptionIR, Resolver } from './compile/resolve.js';
import { kindFacts, specialize, toClosure } from './compile/specialize.js';

export type { EventPredicate, IR, TestIR } from './compile/ir.js';
export { irKey, kindFacts, specialize, toClosure, type Facts } from './compile/specialize.js';

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
  return { rules, errors: sortErrors(errors, files.map((f) => f.file)), lists, version: hash.digest('hex').slice(0, 12) };
}
