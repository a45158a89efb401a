/**
 * Event filters in the rule language, and what a ruleset can decide from
 * part of an event.
 *
 * Takes: a condition expression as rules write it (`process.name = bash and
 * file.path startswith /etc/`), optionally with the lists and macros of rule
 * files; or compiled rules. Gives: an exact predicate over enriched
 * SensorEvents (`replay --filter`, `journal export --filter`), and
 * over-approximations of rules and filters evaluated on a partial event —
 * "can this event match anything, knowing only these fields?" — which
 * replay uses to skip events no rule can match without reading them whole.
 *
 * Everything goes through the rule compiler (compiler.ts): a filter is
 * compiled as a one-rule ruleset, so it has exactly the operators, types,
 * lists, macros and error messages (file:line:column, here `--filter:1:N`)
 * of a rule condition.
 */
import { SensorError } from '../errors.js';
import { EVENT_KINDS, type EventKind, type SensorEvent } from '../model/event.js';
import { compileRules, irKey, specialize, toClosure, type CompiledRule, type EventPredicate, type IR } from './compiler.js';
import type { Definition, RuleFile, SourceText } from './source.js';

/** A compiled `--filter`. */
export interface EventFilter {
  /** The expression as given. */
  readonly text: string;
  /** Exact test on an enriched event. */
  test(ev: SensorEvent): boolean;
  /** Families the filter can match. */
  readonly kinds: ReadonlySet<EventKind>;
  /** Per family: the condition specialized to it (for partial evaluation). */
  readonly specialized: ReadonlyMap<EventKind, IR>;
}

export interface FilterOptions {
  /** Where the text came from, for error locations (default `--filter`). */
  origin?: string;
  /** Rule files whose lists and macros the expression may use (their rules are ignored). */
  definitions?: readonly RuleFile[];
  /** Runtime list items, as the engine gets them (sensor_pids, sensor_paths…). */
  lists?: Readonly<Record<string, readonly string[]>>;
}

const FILTER_ID = '__filter__';

/**
 * Compile a condition into a filter. Throws the rule compiler's SensorError
 * (ESENSOR_RULE_PARSE, ESENSOR_RULE_SEMANTIC, ESENSOR_RULE_REGEX) pointing at
 * `--filter:1:column`.
 */
export function compileFilter(text: string, opts: FilterOptions = {}): EventFilter {
  const origin = opts.origin ?? '--filter';
  const pos = (offset: number): { file: string; line: number; column: number } => ({ file: origin, line: 1, column: offset + 1 });
  const src = (t: string): SourceText => ({ text: t, pos });
  const where = pos(0);
  const files: RuleFile[] = (opts.definitions ?? []).map((f) => ({ file: f.file, text: f.text, defs: f.defs.filter((d: Definition) => d.type !== 'rule') }));
  files.push({
    file: origin,
    text,
    defs: [{ type: 'rule', id: FILTER_ID, desc: 'filter', condition: src(text), output: src(''), severity: 'low', where, keys: {} }],
  });
  const r = compileRules(files, opts.lists ? { lists: opts.lists } : {});
  if (r.errors.length) {
    // Problems in the rule files themselves were reported when they were loaded as rules; here only the expression's matter.
    const own = r.errors.find((e) => e.file === origin) ?? r.errors[0]!;
    const message = own.message.replace(`rule "${FILTER_ID}" can never match`, 'the filter can never match');
    throw new SensorError(own.code, message, {
      ...(own.file !== undefined ? { file: own.file } : {}),
      ...(own.line !== undefined ? { line: own.line } : {}),
      ...(own.column !== undefined ? { column: own.column } : {}),
      field: 'filter',
    });
  }
  const rule = r.rules[0]!;
  const preds = rule.predicates;
  return {
    text,
    kinds: rule.kinds,
    specialized: rule.specialized,
    test: (ev) => {
      const p = preds.get(ev.ebpf.kind);
      return p !== undefined && p(ev);
    },
  };
}

/**
 * The most an IR can be when only the fields `known` accepts can be read:
 * tests of other fields count as true where that makes the whole truer
 * (upper bound) and false where it makes it falser (lower bound), so the
 * upper bound is false only when the IR is false whatever the unknown
 * fields hold.
 */
function bound(ir: IR, known: (field: string) => boolean, upper: boolean): IR {
  switch (ir.t) {
    case 'const':
      return ir;
    case 'test':
      return known(ir.field.name) ? ir : { t: 'const', value: upper };
    case 'not':
      return { t: 'not', e: bound(ir.e, known, !upper) };
    case 'and':
    case 'or':
      return { t: ir.t, items: ir.items.map((x) => bound(x, known, upper)) };
  }
}

/** Upper bound of an IR over the known fields, simplified (constants folded). */
export function upperBound(ir: IR, known: (field: string) => boolean): IR {
  return specialize(bound(ir, known, true), new Map());
}

/** What a partial matcher says about a family: nothing can match, everything may, or ask the predicate (`ir`: what it evaluates). */
export type PartialVerdict = { t: 'never' } | { t: 'maybe' } | { t: 'test'; may: EventPredicate; ir: IR };

/** What an event must satisfy to matter: match some enabled rule (when `rules` is given; events of `always` kinds need not) and the filter (when given). */
export interface PartialNeed {
  rules?: readonly CompiledRule[];
  /** Families that matter without a rule match (loss reports go out even when only alerts do). */
  always?: readonly EventKind[];
  filter?: EventFilter;
}

/**
 * The frame of a partial event: the objects every canonical event has, empty,
 * so field getters can walk to a known field (and find it absent) whatever
 * else is missing. Set the known fields into it.
 */
export function emptyPartial(): Record<string, unknown> {
  return { event: {}, ebpf: {}, process: { parent: {}, user: {}, group: {} }, user: {}, group: {} };
}

/**
 * Per family: can an event matter (see PartialNeed), judging only from the
 * fields `known` accepts? `may(partial)` reads only known fields, so
 * `partial` may hold just those, set into emptyPartial(). A false answer is
 * exact: the whole event cannot matter. A true answer means "read the whole
 * event". Families absent from the map can never matter.
 */
export function partialMatcher(need: PartialNeed, known: (field: string) => boolean): Map<EventKind, PartialVerdict> {
  const out = new Map<EventKind, PartialVerdict>();
  const ruleIrs = new Map<EventKind, IR[]>();
  if (need.rules) {
    for (const r of need.rules) {
      if (!r.enabled) continue;
      for (const [kind, ir] of r.specialized) {
        if (!ruleIrs.has(kind)) ruleIrs.set(kind, []);
        ruleIrs.get(kind)!.push(ir);
      }
    }
  }
  for (const kind of EVENT_KINDS) {
    const items: IR[] = [];
    if (need.rules && !need.always?.includes(kind)) {
      const irs = ruleIrs.get(kind);
      if (!irs) continue;
      items.push({ t: 'or', items: irs.map((ir) => upperBound(ir, known)) });
    }
    if (need.filter) {
      const f = need.filter.specialized.get(kind);
      if (f === undefined) continue;
      items.push(upperBound(f, known));
    }
    const s = specialize({ t: 'and', items }, new Map());
    if (s.t === 'const') {
      if (s.value) out.set(kind, { t: 'maybe' });
    } else {
      const ir = factorShared(s);
      out.set(kind, { t: 'test', may: toClosure(ir), ir });
    }
  }
  return out;
}

/**
 * `or(and(A, x…), and(A, y…), …)` → `or(and(A, or(and(x…), and(y…))), …)`:
 * a first test that many rules' bounds share (22 of the 24 bundled rules on
 * opens start with "ebpf.open.intent in (write …)") is evaluated once per
 * partial event instead of once per rule; each group takes the place of its
 * first member, recursively. The answer is the same: the tests are pure, so
 * the disjunction is false exactly when every group's shared test is false
 * or all of its rests are, whatever the order; and an evaluation that throws
 * (a broken definition: mayMatch answers "may match") throws in both forms
 * unless the other returned true first — "may match" either way.
 */
export function factorShared(ir: IR): IR {
  switch (ir.t) {
    case 'const':
    case 'test':
      return ir;
    case 'not':
      return { t: 'not', e: factorShared(ir.e) };
    case 'and':
      return { t: 'and', items: ir.items.map(factorShared) };
    case 'or': {
      const groups = new Map<string, IR[]>();
      const order: Array<IR | string> = [];
      for (const x of ir.items) {
        if (x.t !== 'and' || x.items.length < 2) {
          order.push(x);
          continue;
        }
        const k = irKey(x.items[0]!);
        let g = groups.get(k);
        if (!g) {
          groups.set(k, (g = []));
          order.push(k);
        }
        g.push(x);
      }
      const items = order.map((o): IR => {
        if (typeof o !== 'string') return factorShared(o);
        const g = groups.get(o)!;
        if (g.length === 1) return factorShared(g[0]!);
        const head = (g[0] as { items: IR[] }).items[0]!;
        const rests = g.map((x): IR => {
          const rest = (x as { items: IR[] }).items.slice(1);
          return rest.length === 1 ? rest[0]! : { t: 'and', items: rest };
        });
        return { t: 'and', items: [head, factorShared({ t: 'or', items: rests })] };
      });
      return items.length === 1 ? items[0]! : { t: 'or', items };
    }
  }
}
