/**
 * rules: the rule engine stage.
 *
 * Takes: enriched canonical events (live or replayed) and YAML rule files
 * (the bundled ruleset in rules/ plus site files that override or append to
 * it). Gives: a Verdict per event — normal, or suspicious with every
 * matching rule (id, name, severity, tags, rendered message) in declaration
 * order — and, for the kernel source, what the kernel must report
 * (kernel-needs.ts). Rules of `action: kill` also stop the process.
 *
 * Rules are compiled once (compiler.ts) into closures bucketed by event
 * family, so an event costs the rules of its own family only.
 */
import { SensorError } from '../errors.js';
import type { EventKind, RuleMatch, SensorEvent, Verdict } from '../model/event.js';
import { NORMAL, type Classifier } from './classifier.js';
import { compileRules, irKey, toClosure, type CompiledRule, type EventPredicate, type IR } from './compiler.js';
import type { Killer } from './killer.js';
import { BUNDLED_RULES_DIR, expandRulePaths, readRuleFiles } from './source.js';

/**
 * The rules of one family, grouped by their first test: rules that start
 * alike (most file rules start with "opened for writing") share one
 * evaluation of it, so an event that fails it skips the whole group.
 */
interface Group {
  guard: EventPredicate | undefined;
  preds: EventPredicate[];
  rules: CompiledRule[];
}

interface Bucket {
  groups: Group[];
}

function bucketOf(entries: Array<{ rule: CompiledRule; ir: IR }>): Bucket {
  const byKey = new Map<string, Group>();
  const groups: Group[] = [];
  for (const { rule, ir } of entries) {
    let key = '';
    let guard: IR | undefined;
    let rest: IR = ir;
    if (ir.t === 'and' && ir.items.length >= 2) {
      guard = ir.items[0]!;
      key = irKey(guard);
      rest = ir.items.length === 2 ? ir.items[1]! : { t: 'and', items: ir.items.slice(1) };
    }
    let g = byKey.get(key);
    if (!g) {
      g = { guard: guard ? toClosure(guard) : undefined, preds: [], rules: [] };
      byKey.set(key, g);
      groups.push(g);
    }
    g.preds.push(toClosure(rest));
    g.rules.push(rule);
  }
  return { groups };
}

export interface EngineOptions {
  /** Carries out `action: kill` (live sensor). Without it kill rules only alert. */
  killer?: Killer;
}

/** A compiled ruleset: the Classifier the pipeline calls. */
export class RuleEngine implements Classifier {
  /** Content hash of the rule files (RuleMatch.version). */
  readonly version: string;
  /** Every compiled rule, disabled ones included, in declaration order. */
  readonly rules: readonly CompiledRule[];
  readonly files: readonly string[];
  readonly lists: ReadonlyMap<string, readonly string[]>;
  private readonly buckets: Partial<Record<EventKind, Bucket>> = Object.create(null) as Partial<Record<EventKind, Bucket>>;
  private readonly byKind = new Map<EventKind, CompiledRule[]>();
  private killer: Killer | undefined;

  constructor(rules: readonly CompiledRule[], meta: { version: string; files: readonly string[]; lists?: ReadonlyMap<string, readonly string[]> }, opts: EngineOptions = {}) {
    this.rules = rules;
    this.version = meta.version;
    this.files = meta.files;
    this.lists = meta.lists ?? new Map();
    this.killer = opts.killer;
    const perKind = new Map<EventKind, Array<{ rule: CompiledRule; ir: IR }>>();
    for (const r of [...rules].sort((a, b) => a.order - b.order)) {
      if (!r.enabled) continue;
      for (const [kind, ir] of r.specialized) {
        if (!perKind.has(kind)) perKind.set(kind, []);
        perKind.get(kind)!.push({ rule: r, ir });
      }
    }
    for (const [kind, entries] of perKind) {
      this.buckets[kind] = bucketOf(entries);
      this.byKind.set(
        kind,
        entries.map((e) => e.rule),
      );
    }
  }

  /** Enabled rules that apply to a family (benchmarks, status). */
  rulesFor(kind: EventKind): readonly CompiledRule[] {
    return this.byKind.get(kind) ?? [];
  }

  /** Enabled rules. */
  get enabledRules(): CompiledRule[] {
    return this.rules.filter((r) => r.enabled);
  }

  setKiller(k: Killer | undefined): void {
    this.killer = k;
  }

  classify(ev: SensorEvent): Verdict {
    const b = this.buckets[ev.ebpf.kind];
    if (b === undefined) return NORMAL;
    let found: CompiledRule[] | undefined;
    const groups = b.groups;
    for (let g = 0; g < groups.length; g++) {
      const group = groups[g]!;
      if (group.guard !== undefined && !group.guard(ev)) continue;
      const preds = group.preds;
      for (let i = 0; i < preds.length; i++) {
        if (preds[i]!(ev)) (found ??= []).push(group.rules[i]!);
      }
    }
    if (found === undefined) return NORMAL;
    // Groups interleave rules: report in declaration order, whatever the grouping.
    if (found.length > 1) found.sort((x, y) => x.order - y.order);
    return { classification: 'suspicious', matches: found.map((r) => this.match(r, ev)) };
  }

  private match(r: CompiledRule, ev: SensorEvent): RuleMatch {
    const m: RuleMatch = {
      id: r.id,
      name: r.name,
      description: r.description,
      severity: r.severity,
      tags: r.tags as string[],
      message: r.render(ev),
      ruleset: r.ruleset,
      version: this.version,
      action: r.action,
    };
    if (r.action === 'kill' && this.killer) m.kill = this.killer.kill(ev);
    return m;
  }
}

/** Where rules come from. */
export interface RuleSources {
  /** Load rules/ (the bundled ruleset) first. */
  bundled: boolean;
  /** Site rule files or directories, loaded after the bundled ones, in order. */
  paths: readonly string[];
  /**
   * Read a file after checking it (ownership: docs/security.md), or refuse
   * it by throwing a SensorError; default: read it unchecked.
   */
  read?: (file: string) => string;
  /** Items appended to lists after every file (the sensor's pid and files, fixture context). */
  lists?: Readonly<Record<string, readonly string[]>>;
}

/** The rule files, in load order. */
export function ruleFiles(src: RuleSources): string[] {
  const paths = src.bundled ? [BUNDLED_RULES_DIR, ...src.paths] : [...src.paths];
  return expandRulePaths(paths);
}

/** Load and compile; every problem is returned (rules lint). */
export function buildRules(src: RuleSources, opts: EngineOptions = {}): { engine: RuleEngine | undefined; errors: SensorError[]; files: string[] } {
  let files: string[];
  try {
    files = ruleFiles(src);
  } catch (e) {
    if (e instanceof SensorError) return { engine: undefined, errors: [e], files: [] };
    throw e;
  }
  const read = readRuleFiles(files, src.read);
  const compiled = compileRules(read.files, src.lists ? { lists: src.lists } : {});
  const errors = [...read.errors, ...compiled.errors];
  if (errors.length) return { engine: undefined, errors, files };
  return { engine: new RuleEngine(compiled.rules, { version: compiled.version, files, lists: compiled.lists }, opts), errors, files };
}

/** One line per problem: "file:line:column: CODE message". */
export function formatRuleErrors(errors: readonly SensorError[]): string {
  return errors.map((e) => `${e.location ? `${e.location}: ` : ''}${e.code} ${e.message}`).join('\n');
}

/** Load and compile, or throw one SensorError listing every problem. */
export function loadRules(src: RuleSources, opts: EngineOptions = {}): RuleEngine {
  const r = buildRules(src, opts);
  if (r.engine) return r.engine;
  const first = r.errors[0]!;
  if (r.errors.length === 1) {
    throw new SensorError(first.code, first.message, {
      ...(first.file !== undefined ? { file: first.file } : {}),
      ...(first.line !== undefined ? { line: first.line } : {}),
      ...(first.column !== undefined ? { column: first.column } : {}),
      ...(first.field !== undefined ? { field: first.field } : {}),
    });
  }
  // Several problems: each line names its own location; the summary names none (giving it the
  // first one's would print that location twice, in front of the summary and on its own line).
  throw new SensorError(first.code, `${r.errors.length} problems in the rules:\n${formatRuleErrors(r.errors)}`);
}

