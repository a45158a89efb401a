/**
 * Step 1 of compiling rules, merge: the definitions of every rule file, in
 * order, into one set of lists, macros and rules. A later file overrides or
 * appends to a rule, list or macro of an earlier one (docs/rules.md);
 * conditions are parsed here. Takes parsed rule files (source.ts); gives
 * the merged states, problems pushed onto the shared error list.
 */
import type { SensorError } from '../../errors.js';
import { parseLocated, type Expr } from '../condition.js';
import type { Definition, ExceptionDef, ListDef, MacroDef, RuleDef, SourceText, Where } from '../source.js';
import { semantic } from './errors.js';

export interface ListState {
  items: Array<{ value: string; where: Where }>;
  where: Where;
  file: string;
}

export interface MacroState {
  expr: Expr | undefined;
  where: Where;
  file: string;
}

export interface RuleState {
  def: RuleDef;
  cond: Expr | undefined;
  file: string;
  order: number;
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

export class Merger {
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
