/**
 * Step 2 of compiling rules, resolve: macros are inlined and lists expanded
 * (cycles and runaway nesting are errors); exceptions become `and not (…)`
 * terms. Takes the merged lists and macros (merge.ts) and a rule's parsed
 * condition; gives its IR (ir.ts), each test checked by check.ts.
 */
import type { SensorError } from '../../errors.js';
import { maxConditionDepth, type Expr, type Literal, type Op } from '../condition.js';
import { fieldSpec, type FieldSpec } from '../fields.js';
import type { ExceptionDef } from '../source.js';
import { makeTest, suggest } from './check.js';
import { semantic } from './errors.js';
import type { IR } from './ir.js';
import type { ListState, MacroState } from './merge.js';

export /** Resolves macros and lists, type-checks tests and builds the IR of one rule. */
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
    if (stack.length > maxConditionDepth()) {
      this.errors.push(semantic(`lists nest deeper than ${maxConditionDepth()} levels`, l.where, 'items'));
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
    if (depth > 4 * maxConditionDepth()) {
      const where = e.where ?? { file: '?', line: 0, column: 0 };
      this.errors.push(semantic(`the condition nests deeper than ${4 * maxConditionDepth()} levels (macros included)`, where, stack[0] ?? 'condition'));
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

const EXCEPTION_OPS = new Set(['=', '!=', 'in', 'startswith', 'endswith', 'contains', 'glob']);

/** Exceptions → IR: not ((t11 and t12) or (t21 and t22) …) per exception. */
export function exceptionIR(ex: ExceptionDef, lists: Resolver, listNames: ReadonlySet<string>, errors: SensorError[]): IR | undefined {
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
