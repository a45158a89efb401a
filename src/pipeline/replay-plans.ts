/**
 * pipeline/replay-plans: ECS plans (replay-ecs.ts) kept across the blocks of
 * a replay, for one host and one ruleset.
 *
 * Takes: what a plan depends on, as block-independent numbers — the
 * context's definition (template and values), the event template and the
 * class of shapes, each numbered by its text the first time it is seen.
 * Gives: the plan for those, or null (none holds), or undefined (not built
 * yet). Capture blocks number their definitions afresh, so a cache per
 * block would build every plan again in every block; the numbers here are
 * the same in every block for the same definitions. A plan still holds only
 * while the table entries it was written from are unchanged (planHolds).
 *
 * Bounded: once it has numbered MAX_CONTEXTS contexts (or the other limits)
 * it starts over with a new `generation`, and per-block numbers taken from an
 * older generation are not used (FastState compares generations).
 */
import type { EventKind } from '../model/event.js';
import type { PartialVerdict } from '../rules/filter.js';
import type { EcsPlan } from './replay-ecs.js';

const MAX_CONTEXTS = 1 << 16;
const MAX_TEMPLATES = 4096;
const MAX_CLASSES = 65536;
const MAX_PLANS = 1 << 17;

export class PlanCache {
  /** Bumped whenever the cache starts over: numbers of an older generation mean nothing. */
  generation = 0;
  private readonly contexts = new Map<string, number>();
  private readonly templates = new Map<string, number>();
  private readonly classes = new Map<string, number>();
  private readonly plans = new Map<number, EcsPlan | null>();
  /** Per event template number: the partial matchers that know its own values' paths (replay-fast.ts). */
  private readonly ownMatchers = new Map<number, Map<EventKind, PartialVerdict>>();

  /** The number of a context definition (definitionKey); -1 when there is none. */
  context(key: string | undefined): number {
    return key === undefined ? -1 : this.number(this.contexts, key, MAX_CONTEXTS);
  }

  /** The number of an event template definition (definitionKey); -1 when there is none. */
  template(key: string | undefined): number {
    return key === undefined ? -1 : this.number(this.templates, key, MAX_TEMPLATES);
  }

  /** The number of a class of shapes (its key: what is not a slot, and the slots' types). */
  shapeClass(key: string): number {
    return this.number(this.classes, key, MAX_CLASSES);
  }

  /** The plans' key of a context, template and class number (all ≥ 0, of this generation). */
  key(context: number, template: number, cls: number): number {
    return (context * MAX_TEMPLATES + template) * MAX_CLASSES + cls;
  }

  /** The partial matchers of event template number t, compiled once. */
  ownMatcher(t: number, compile: () => Map<EventKind, PartialVerdict>): Map<EventKind, PartialVerdict> {
    let m = this.ownMatchers.get(t);
    if (!m) this.ownMatchers.set(t, (m = compile()));
    return m;
  }

  get(key: number): EcsPlan | null | undefined {
    return this.plans.get(key);
  }

  has(key: number): boolean {
    return this.plans.has(key);
  }

  set(key: number, plan: EcsPlan | null): void {
    if (this.plans.size >= MAX_PLANS) this.plans.clear();
    this.plans.set(key, plan);
  }

  delete(key: number): void {
    this.plans.delete(key);
  }

  private number(m: Map<string, number>, key: string, max: number): number {
    let n = m.get(key);
    if (n !== undefined) return n;
    if (m.size >= max) this.startOver();
    n = m.size;
    m.set(key, n);
    return n;
  }

  private startOver(): void {
    this.contexts.clear();
    this.templates.clear();
    this.classes.clear();
    this.plans.clear();
    this.ownMatchers.clear();
    this.generation++;
  }
}
