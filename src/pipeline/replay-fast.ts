/**
 * pipeline/replay-fast: replay's fast path over capture blocks.
 *
 * Takes: a capture block (events as references to a context, their
 * process, and a shape: kind, action, outcome, path …), the ruleset's
 * partial matchers and the host's process table. Gives: the events that
 * can reach the output, built and handled as on the full path (through
 * the replayer's `handle`), and nothing built for the others: an event is
 * skipped only when no rule (and not the filter) can match it whatever the
 * rest of it holds, and it still has its table effect (replay-facts.ts);
 * where the shape and context leave a rule open, the record's own values
 * decide (ownMayMatch, remembered by replay-own.ts) before it is built.
 * With every event going out, normal events left as they are by
 * enrichment are written from ECS plans (replay-ecs.ts, kept across blocks
 * by replay-plans.ts) instead of being built. See pipeline/replay.ts for
 * the whole picture.
 */
import type { AgentInfo, ClassifiedEvent, EventKind, HostInfo, SensorEvent } from '../model/event.js';
import { EVENT_KINDS } from '../model/event.js';
import { isoToEpochMs } from '../model/time.js';
import type { Enricher } from '../enrich/enrich.js';
import type { RuleEngine } from '../rules/engine.js';
import { emptyPartial, type EventFilter, type PartialVerdict } from '../rules/filter.js';
import type { Sink } from '../sinks/sink.js';
import type { CaptureBlock, ReplayBlock } from '../sources/replay/replay-source.js';
import { captureError, splitPath } from '../sources/replay/capture-format.js';
import { OwnDecisions, mayMatch } from './replay-own.js';
import { CheckedEvent, From, LineChunks, PlannedEvent, buildPlan, isVerbatim, planHolds, renderPlan, renderRaw, slotBytes, type EcsPlan, type ShapeBytes, type Slot } from './replay-ecs.js';
import { PlanCache } from './replay-plans.js';
import { valuesMay, valuesTest, type ValuesTest } from './replay-shape-tests.js';
import { completeFacts, contextInfo, forkEffect, nameStable, tableEffect, type CtxInfo, type EntityIds, type Epochs } from './replay-facts.js';

/** A ruleset compiled for one set of runtime lists, with its partial matchers. */
export interface RuleContext {
  engine: RuleEngine;
  filter: EventFilter | undefined;
  /** Fast path: decisions from shapes alone, and from shapes with contexts. */
  byShape: Map<EventKind, PartialVerdict> | undefined;
  byContext: Map<EventKind, PartialVerdict> | undefined;
  /** Decisions from shapes, contexts and a record's own values (the paths of its template's values), compiled on demand. */
  byOwn?: (own: ReadonlySet<string>) => Map<EventKind, PartialVerdict>;
  /** Every event goes out: normal events left as they are by enrichment are written from ECS plans. */
  ecsPlans: boolean;
  /** The shape fields of the input's encoding. */
  shapePaths: readonly string[];
}

export interface HostState {
  /** Where planned lines are written, reused once each batch is sent (LineChunks.release). */
  lines?: LineChunks;
  /** ECS plans kept across blocks, per ruleset (replay-plans.ts). */
  planCaches?: Map<RuleContext, PlanCache>;
  key: string;
  host: HostInfo;
  agent: AgentInfo;
  enricher: Enricher;
  /**
   * Per pid, bumped whenever the table entry of that pid may have changed
   * (upsert, exit, an event enriched in full), so facts about a process
   * learned from the table stay valid until the next bump.
   */
  epochs: Epochs;
  ids: EntityIds;
  sinks: Sink[] | undefined;
}

/** What the fast path needs of the replayer: the full path for the events it builds, and the counts. */
export interface BlockReplayer {
  /** A --since or --until window is set. */
  readonly windowed: boolean;
  readonly summary: { skipped: number };
  inWindow(ts: string | undefined): boolean;
  /** Enrich, select, classify; push what goes out. True, or why the record is too broken to handle. */
  handle(ev: SensorEvent, hs: HostState, rc: RuleContext, out: ClassifiedEvent[]): true | string;
  /** A damaged record: throw, or (skip-bad) report and go on. */
  bad(e: unknown, b: ReplayBlock, i: number, path: string): void;
}

/**
 * Events per batch handed to the sinks (the live pipeline's journal deliveries use 1000–2000).
 * 512: a batch of planned ECS lines (≈ 1 MiB) is still in cache when the file output's writev
 * reads it, and the next batch writes over the same bytes (LineChunks.release); 2,048 cost 2–11%
 * more CPU on `replay --events all` (docs/benchmarks.md, issue #14 s22).
 */
export const SEND_BATCH = 512;
const EXEC = 'exec';
const EXIT = 'exit';
/** Kinds that change a process's table entry (ids, session, group, image, name): always built (forks: replay-facts.ts forkEffect). */
const MATERIALIZED: ReadonlySet<string> = new Set([EXEC, 'setuid', 'setgid', 'setsid', 'setpgid', 'prctl']);
const FORK = 'fork';
const KIND_SET: ReadonlySet<string> = new Set(EVENT_KINDS);
const KIND_INDEX: ReadonlyMap<string, number> = new Map(EVENT_KINDS.map((k, i) => [k, i]));
const KIND_COUNT = EVENT_KINDS.length;
const QUOTE = 0x22;

/** What the fast path learns about a block's definitions, kept while it works through the block. */
export class FastState {
  readonly ctxInfo: Array<CtxInfo | undefined>;
  /** Per shape: 0 not yet decided, 1 nothing can match, 2 maybe (look further), 3 no fast decision (materialize). */
  readonly shapeState: Uint8Array;
  readonly shapeKind: Array<EventKind | undefined>;
  readonly shapePartial: Array<Record<string, unknown> | undefined>;
  /** Per event template and kind (template * KIND_COUNT + kind index): the shape-only test over values (null: none; replay-shape-tests.ts). */
  readonly shapeTests = new Map<number, ValuesTest | null>();
  /** (context, shape) → may a rule match. */
  readonly pairs = new Map<number, boolean>();
  /** (context, shape) → its partial event with the context's values, for pairs that may match (read only). */
  readonly pairPartials = new Map<number, Record<string, unknown>>();
  /** ECS plans (`--events all`): per shape its class (-1 not yet known), slots and slot values; plans by key. */
  readonly shapeClass: Int32Array;
  readonly shapeSlots: Array<Slot[] | undefined>;
  readonly shapeSlotValues: Array<unknown[] | undefined>;
  /** Per context and per event template of the block: its number in the plan cache (-1 not yet known; PlanCache). */
  readonly ctxNumber: Int32Array;
  readonly tmplNumber = new Map<number, number>();
  /** The plan cache generation the numbers above (and shapeClass) belong to. */
  generation = 0;
  /** Per shape: its slot values encoded once (slotBytes; null: some are not, renderPlan writes them). */
  readonly shapeSlotBytes: Array<ShapeBytes | null | undefined>;
  /** Own-value decisions remembered by the bytes they read (replay-own.ts). */
  readonly own = new OwnDecisions();
  /** Where a record's own values are (CaptureBlock.ownSpans), reused for every record. */
  readonly spans = new Int32Array(512);
  constructor(
    b: CaptureBlock,
    /** Where planned lines are written (the host's, kept across blocks: released once a batch is sent). */
    readonly lines: LineChunks = new LineChunks(),
  ) {
    this.shapeSlotBytes = new Array(b.shapeCount);
    this.ctxNumber = new Int32Array(b.contextCount).fill(-1);
    this.shapeClass = new Int32Array(b.shapeCount).fill(-1);
    this.shapeSlots = new Array(b.shapeCount);
    this.shapeSlotValues = new Array(b.shapeCount);
    this.ctxInfo = new Array(b.contextCount);
    this.shapeState = new Uint8Array(b.shapeCount);
    this.shapeKind = new Array(b.shapeCount);
    this.shapePartial = new Array(b.shapeCount);
  }
}

/**
 * The fast path over one capture block (see the file comment), from record
 * `from` until the block ends or `out` holds a batch; returns where it stopped.
 */
export function fastBlock(r: BlockReplayer, b: CaptureBlock, hs: HostState, rc: RuleContext, st: FastState, from: number, out: ClassifiedEvent[]): number {
  const table = hs.enricher.table;
  const { ctxInfo, shapeKind, shapePartial, pairs } = st;
  const epochs = hs.epochs;
  const windowed = r.windowed;
  const byShape = rc.byShape!;
  const byContext = rc.byContext!;
  const anyBad = b.bad.size > 0;
  const ctxOf = b.ctxOf;
  const shapeOf = b.shapeOf;
  let i = from;
  for (; i < b.count && out.length < SEND_BATCH; i++) {
    if (anyBad && b.bad.has(i)) {
      r.bad(b.bad.get(i), b, i, b.file);
      continue;
    }
    const c = ctxOf[i]!;
    const s = shapeOf[i]!;
    const state = shapeStateOf(b, st, s, byShape);
    let ci = ctxInfo[c];
    if (ci === undefined) ci = ctxInfo[c] = contextInfo(b, c);
    if (state !== 3 && ci.ok) {
      const kind = shapeKind[s]!;
      let skip = state === 1 || (windowed && !r.inWindow(b.timestamp(i)));
      if (!skip && completeFacts(ci, b, c).stable && nameStable(kind, ci, table, epochs)) {
        const key = c * 2 ** 21 + s;
        let may = pairs.get(key);
        if (may === undefined) {
          const v = byContext.get(kind);
          if (v === undefined) may = false;
          else if (v.t === 'test') {
            const sp = (shapePartial[s] ??= partialOf(b, s));
            may = mayMatch(v.may, withContext(sp, b.context(c)!));
          } else may = true;
          pairs.set(key, may);
        }
        skip = !may;
        // A rule may match on values of the record's own (a connect's port …): look at them, without building it.
        if (!skip && rc.byOwn) skip = !ownMayMatch(b, st, planCache(hs, rc), rc.byOwn, i, c, s, kind, key);
      }
      if (skip) {
        if (kind === FORK) {
          // The child's new table entry (ids, session, leaders) without building the fork; built when its facts cannot be read exactly.
          if (forkEffect(table, ci, epochs, hs.ids)) {
            r.summary.skipped++;
            continue;
          }
        } else {
          tableEffect(table, kind, ci, epochs, hs.ids, kind === EXIT ? isoToEpochMs(b.timestamp(i) ?? '') : 0);
          r.summary.skipped++;
          continue;
        }
      }
    }
    let ev: SensorEvent;
    try {
      ev = b.materialize(i);
    } catch (e) {
      r.bad(e, b, i, b.file);
      continue;
    }
    const handled = r.handle(ev, hs, rc, out);
    if (handled !== true) r.bad(captureError(b.file, b.where(i), handled), b, i, b.file);
  }
  return i;
}

/**
 * `--events all` over one capture block (see the file comment), from record
 * `from` until the block ends or `out` holds a batch; returns where it stopped.
 */
export function planBlock(r: BlockReplayer, b: CaptureBlock, hs: HostState, rc: RuleContext, st: FastState, from: number, out: ClassifiedEvent[]): number {
  const table = hs.enricher.table;
  const epochs = hs.epochs;
  const byShape = rc.byShape!;
  const byContext = rc.byContext!;
  const { ctxInfo, shapeKind, shapePartial, pairs } = st;
  const plans = planCache(hs, rc);
  const epochOf = (pid: number): number => epochs.get(pid);
  const anyBad = b.bad.size > 0;
  let i = from;
  for (; i < b.count && out.length < SEND_BATCH; i++) {
    if (anyBad && b.bad.has(i)) {
      r.bad(b.bad.get(i), b, i, b.file);
      continue;
    }
    const c = b.ctxOf[i]!;
    const s = b.shapeOf[i]!;
    const state = shapeStateOf(b, st, s, byShape);
    let ci = ctxInfo[c];
    if (ci === undefined) ci = ctxInfo[c] = contextInfo(b, c);
    let key = -1;
    if (state !== 3 && ci.ok) {
      const kind = shapeKind[s]!;
      // Forks and execs change table entries in ways plans do not follow: always built here.
      if (kind !== EXEC && kind !== FORK && completeFacts(ci, b, c).stable && nameStable(kind, ci, table, epochs)) {
        let normal = state === 1;
        if (!normal) {
          const pk = c * 2 ** 21 + s;
          let may = pairs.get(pk);
          if (may === undefined) {
            const v = byContext.get(kind);
            if (v === undefined) may = false;
            else if (v.t === 'test') may = mayMatch(v.may, withContext((shapePartial[s] ??= partialOf(b, s)), b.context(c)!));
            else may = true;
            pairs.set(pk, may);
          }
          normal = !may;
          // A rule may match on values of the record's own: look at them (no event built, no enrichment),
          // unless its key has no plan anyway (values the serializer reads: connects' addresses …).
          if (!normal && rc.byOwn) {
            const k = planKey(b, st, plans, c, b.templateOf(i), s, rc.shapePaths);
            if (k >= 0 && plans.get(k) !== null) normal = !ownMayMatch(b, st, plans, rc.byOwn, i, c, s, kind, pk);
          }
        }
        // No plan for an exit: its key holds the process's context, and a process exits once (on the
        // host capture 2,981 exit plans were built, none used: 4 in 10 of the plans, for nothing).
        if (normal && kind !== EXIT) key = planKey(b, st, plans, c, b.templateOf(i), s, rc.shapePaths);
        let plan = key >= 0 ? plans.get(key) : null;
        if (plan && !planHolds(plan, epochOf)) {
          // A table entry it was written from changed: the next event built writes a new one.
          plans.delete(key);
          plan = undefined;
        }
        if (plan) {
          // The capture's own bytes of the values copied into the line when they are canonical JSON (ownSpans) …
          let sb = st.shapeSlotBytes[s];
          if (sb === undefined) sb = st.shapeSlotBytes[s] = slotBytes(st.shapeSlots[s]!, st.shapeSlotValues[s]!);
          const spans = st.spans;
          const n = sb ? b.ownSpans(i, spans) : -1;
          const src = b.bytes;
          const idAt = 2 * plan.idIndex;
          const lines = st.lines;
          const at = n > plan.idIndex && src[spans[idAt]!] === QUOTE ? renderRaw(plan, src, b.tsStartOf(i), b.tsEndOf(i), spans, n, sb!, lines) : -1;
          if (at >= 0) {
            tableEffect(table, kind, ci, epochs, hs.ids, kind === EXIT ? isoToEpochMs(b.timestamp(i) ?? '') : 0);
            out.push(new PlannedEvent(lines.buf, at, lines.off - 1, undefined, spans[idAt]! + 1, spans[idAt + 1]! - 1, plan, b, i));
            continue;
          }
          // … otherwise parsed and encoded value by value.
          const own = b.ownValues(i);
          const ts = b.timestamp(i);
          const line = own && renderPlan(plan, ts, own, st.shapeSlotValues[s]!);
          const id = own?.[plan.idIndex];
          if (line !== undefined && typeof id === 'string') {
            tableEffect(table, kind, ci, epochs, hs.ids, kind === EXIT ? isoToEpochMs(ts ?? '') : 0);
            out.push(new PlannedEvent(line, 0, line.length, id, 0, 0, plan, b, i));
            continue;
          }
          key = -1; // this event does not fit its plan: built below, the plan stays
        }
      }
    }
    let ev: SensorEvent;
    try {
      ev = b.materialize(i);
    } catch (e) {
      r.bad(e, b, i, b.file);
      continue;
    }
    const n = out.length;
    const handled = r.handle(ev, hs, rc, out);
    if (handled !== true) r.bad(captureError(b.file, b.where(i), handled), b, i, b.file);
    if (key >= 0 && !plans.has(key)) {
      // The first event of its key: its line, cut at the values that vary, is the plan of the others;
      // the line the plan is checked against is shipped as the event's own (CheckedEvent).
      const ce = out.length === n + 1 ? out[n]! : undefined;
      const ship = ce && !ce.verdict.matches.length ? (line: Buffer): void => void (out[n] = new CheckedEvent(ev, ce.verdict, line)) : undefined;
      plans.set(key, ce && ce.verdict.classification === 'normal' ? planOrNull(b, st, i, s, ev, hs, ship) : null);
    }
  }
  return i;
}

/**
 * planOf, or null when the event cannot be written (a field of the wrong
 * type in a hostile capture): the event then takes the full path, whose
 * sinks fail to format it and replay reports the field (dropMalformed) —
 * or, when no field is wrong, throws the failure as the bug it is.
 */
function planOrNull(b: CaptureBlock, st: FastState, i: number, s: number, ev: SensorEvent, hs: HostState, onLine?: (line: Buffer) => void): EcsPlan | null {
  try {
    return planOf(b, st, i, s, ev, hs, onLine);
  } catch {
    return null;
  }
}

/** The ECS plan cut from event `i` (built and enriched as `ev`), or null. */
function planOf(b: CaptureBlock, st: FastState, i: number, s: number, ev: SensorEvent, hs: HostState, onLine?: (line: Buffer) => void): EcsPlan | null {
  const paths = b.valuePaths(i);
  const own = b.ownValues(i);
  if (!paths || !own || paths.length !== own.length) return null;
  const slots: Slot[] = [{ from: From.Ts, index: 0, path: '@timestamp', type: 'string' }];
  for (let k = 0; k < paths.length; k++) {
    const v = own[k];
    // A value of the event's own that the serializer reads (not only writes) makes every event of this key different.
    if (!isVerbatim(paths[k]!) || (typeof v !== 'string' && typeof v !== 'number')) return null;
    slots.push({ from: From.Own, index: k, path: paths[k]!, type: typeof v as 'string' | 'number' });
  }
  slots.push(...st.shapeSlots[s]!);
  return buildPlan(ev, slots, { ts: b.timestamp(i), own, shape: st.shapeSlotValues[s]! }, hs.host, hs.agent, (pid) => hs.epochs.get(pid), onLine);
}

/** What the shape alone decides (FastState.shapeState), worked out on first use. */
function shapeStateOf(b: CaptureBlock, st: FastState, s: number, byShape: Map<EventKind, PartialVerdict>): number {
  let state = st.shapeState[s]!;
  if (state !== 0) return state;
  const kind = b.shapeField(s, 'ebpf.kind');
  if (typeof kind !== 'string' || !KIND_SET.has(kind)) state = 3;
  // Events that change a process's Session View context in its table entry (ids,
  // session, group, image, name: enrich.ts) always take the full path; a fork no
  // rule can match is skipped with the child's new entry (replay-facts.ts forkEffect).
  else if (MATERIALIZED.has(kind)) state = 3;
  else {
    st.shapeKind[s] = kind as EventKind;
    const v = byShape.get(kind as EventKind);
    if (v === undefined) state = 1;
    else if (v.t === 'test') state = shapeMay(b, st, s, kind as EventKind, v) ? 2 : 1;
    else state = 2;
  }
  st.shapeState[s] = state;
  return state;
}

/** Per kind's shape-only verdict of a ruleset, per event template (its JSON): its test over a shape's values, or null (replay-shape-tests.ts). */
const valuesTests = new WeakMap<PartialVerdict, Map<string, ValuesTest | null>>();

/** May a rule match an event of shape s, from the shape alone: its values read by position, the partial event built only where they cannot be. */
function shapeMay(b: CaptureBlock, st: FastState, s: number, kind: EventKind, v: Extract<PartialVerdict, { t: 'test' }>): boolean {
  const d = b.shapeDef(s);
  let test: ValuesTest | null | undefined;
  if (d) {
    const key = d.t * KIND_COUNT + KIND_INDEX.get(kind)!;
    test = st.shapeTests.get(key);
    if (test === undefined) {
      const text = b.definitionKey('template', d.t);
      let byText = valuesTests.get(v);
      if (!byText) valuesTests.set(v, (byText = new Map()));
      test = text === undefined ? null : byText.get(text);
      if (test === undefined) byText.set(text!, (test = valuesTest(v.ir, d.paths)));
      st.shapeTests.set(key, test);
    }
  }
  return d && test ? valuesMay(test, d.values) : mayMatch(v.may, (st.shapePartial[s] ??= partialOf(b, s)));
}

/** The host's plan cache for a ruleset (replay-plans.ts). */
function planCache(hs: HostState, rc: RuleContext): PlanCache {
  let plans = (hs.planCaches ??= new Map()).get(rc);
  if (!plans) hs.planCaches.set(rc, (plans = new PlanCache()));
  return plans;
}

/**
 * May a rule match record i, given its shape, its context and its own
 * values (partial matchers compiled per event template, knowing the paths
 * of its values: fields enrichment adds stay unknown)? True when that cannot
 * be told. Answers are remembered by the bytes of the values read (replay-own.ts).
 */
function ownMayMatch(
  b: CaptureBlock,
  st: FastState,
  plans: PlanCache,
  byOwn: (own: ReadonlySet<string>) => Map<EventKind, PartialVerdict>,
  i: number,
  c: number,
  s: number,
  kind: EventKind,
  pk: number,
): boolean {
  const t = b.templateOf(i);
  const paths = b.valuePaths(i);
  const gt = templateNumber(b, st, plans, t);
  if (!paths || gt < 0) return true;
  const v = plans.ownMatcher(gt, () => byOwn(new Set(paths))).get(kind);
  if (v === undefined) return false;
  if (v.t !== 'test') return true;
  let pp = st.pairPartials.get(pk);
  if (!pp) st.pairPartials.set(pk, (pp = withContext((st.shapePartial[s] ??= partialOf(b, s)), b.context(c)!)));
  return st.own.decide(b, i, `${pk},${t}`, v, pp, paths, st.spans, b.ownSpans(i, st.spans));
}

/** The plan cache's number of the block's event template t (-1: none). */
function templateNumber(b: CaptureBlock, st: FastState, plans: PlanCache, t: number): number {
  syncGeneration(st, plans);
  let gt = st.tmplNumber.get(t);
  if (gt === undefined) st.tmplNumber.set(t, (gt = plans.template(t >= 0 ? b.definitionKey('template', t) : undefined)));
  return st.generation === plans.generation ? gt : -1;
}

/** Numbers of an older generation of the plan cache mean nothing: forget them. */
function syncGeneration(st: FastState, plans: PlanCache): void {
  if (st.generation === plans.generation) return;
  st.generation = plans.generation;
  st.ctxNumber.fill(-1);
  st.tmplNumber.clear();
  st.shapeClass.fill(-1);
}

/** The plan cache's key of a record of context c, template t and shape s; -1 when it has none. */
function planKey(b: CaptureBlock, st: FastState, plans: PlanCache, c: number, t: number, s: number, paths: readonly string[]): number {
  // The cache may have started over: numbers taken before mean nothing now.
  syncGeneration(st, plans);
  let gc = st.ctxNumber[c]!;
  if (gc < 0) gc = st.ctxNumber[c] = plans.context(b.definitionKey('context', c));
  const gt = templateNumber(b, st, plans, t);
  const cls = shapeClassOf(b, st, s, paths, plans);
  // Numbering may have started the cache over: this record goes the full path, the next ones number again.
  return gc < 0 || gt < 0 || cls < 0 || st.generation !== plans.generation ? -1 : plans.key(gc, gt, cls);
}

/**
 * A shape's class for ECS plans: shapes with the same values everywhere but
 * in slots (values the serializer writes as they are) share plans.
 */
function shapeClassOf(b: CaptureBlock, st: FastState, s: number, paths: readonly string[], plans: PlanCache): number {
  let cls = st.shapeClass[s]!;
  if (cls >= 0) return cls;
  const parts: unknown[] = [];
  const slots: Slot[] = [];
  const values: unknown[] = [];
  for (const p of paths) {
    const v = b.shapeField(s, p);
    if (v !== undefined && isVerbatim(p) && (typeof v === 'string' || typeof v === 'number')) {
      slots.push({ from: From.Shape, index: values.length, path: p, type: typeof v as 'string' | 'number' });
      values.push(v);
      parts.push(typeof v === 'string' ? 0 : 1);
    } else parts.push(v === undefined ? null : [v]);
  }
  cls = plans.shapeClass(JSON.stringify(parts));
  st.shapeClass[s] = cls;
  st.shapeSlots[s] = slots;
  st.shapeSlotValues[s] = values;
  return cls;
}

/** A partial event holding only a shape's values, for the partial matchers. */
function partialOf(b: CaptureBlock, s: number): Record<string, unknown> {
  const o = emptyPartial();
  b.shapeInto(s, o);
  return o;
}

/** A shape's partial event with a context's values added (a copy: the shape's is shared). */
function withContext(partial: Record<string, unknown>, ctx: Record<string, unknown>): Record<string, unknown> {
  const o: Record<string, unknown> = { ...partial };
  // Copy each object on the way down before writing into it.
  for (const p in ctx) {
    const parts = splitPath(p);
    let at = o;
    for (let k = 0; k < parts.length - 1; k++) {
      const key = parts[k]!;
      const next = at[key];
      at = at[key] = next !== null && typeof next === 'object' ? { ...(next as Record<string, unknown>) } : {};
    }
    at[parts[parts.length - 1]!] = ctx[p];
  }
  return o;
}
