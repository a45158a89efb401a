/**
 * pipeline/replay: recorded events through the live stages again.
 *
 * Takes: replay inputs (sources/replay: capture files, journal
 * directories), a ruleset, a time window, an optional filter or process,
 * and sinks. Gives: what the live sensor would have sent to those sinks
 * for those events with these rules — the same Enricher, RuleEngine and
 * sinks (normalizers inside) — plus a summary of the alerts by rule and
 * severity. Deterministic: the output depends only on the inputs, the
 * rules and the options (the host facts come from the capture header, the
 * enricher reads nothing from the machine), so the same replay gives the
 * same bytes anywhere. Nothing here touches the kernel, and the engine is
 * built without a killer: replay never executes `action: kill`.
 *
 * Every record goes through the enricher's process table in recorded order
 * (whatever the window, filter or process asked for), so an event is
 * enriched the same way in every replay that includes it. Selection and
 * classification come after enrichment.
 *
 * Fast path. When only some events can reach the output (alerts only, or a
 * filter), capture blocks are read without parsing every event: each event
 * refers to a context (its process: the same for many events) and a shape
 * (kind, action, outcome, path, … ), and a ruleset is partially evaluated
 * on those (rules/filter.ts) — exactly: an event is skipped only when no rule
 * (and not the filter) can match it whatever the rest of it holds. A
 * skipped event still updates the process table exactly as `enrich()`
 * would (replay-facts.ts `tableEffect`, built from enrich.ts's own
 * `actingEntry`/`metEntry`; a test compares the fast path with
 * materializing every event). The fast path itself is replay-fast.ts; the
 * process tree of --process replay-tree.ts; times replay-time.ts; the
 * summary replay-summary.ts. Context facts
 * count as known only when enrichment provably leaves them unchanged.
 *
 * With every event going out (`--events all`, no filter, window or
 * process), the same decisions tell which events are normal and left as
 * they are by enrichment; those are written from ECS plans (replay-ecs.ts)
 * instead of being built: the first event of each process context, event
 * template and class of shapes is built and its line cut into a plan, the
 * others fill the plan with their own values.
 */
import { SensorError } from '../errors.js';
import type { AgentInfo, ClassifiedEvent, EventKind, HostInfo, RuleMatch, SensorEvent } from '../model/event.js';
import { SEVERITY_RANK, topMatch } from '../model/severity.js';
import { isoToEpochMs } from '../model/time.js';
import { Enricher } from '../enrich/enrich.js';
import { loadRules, ruleFiles, type RuleSources } from '../rules/engine.js';
import { compileFilter, partialMatcher, type EventFilter } from '../rules/filter.js';
import { readRuleFiles } from '../rules/source.js';
import type { Sink } from '../sinks/sink.js';
import { eventTypeProblem } from '../sources/replay/capture-checks.js';
import { CaptureBlock, headerRules, inputSize, openInput, type InputDamage, type ReplayBlock, type ReplayInput } from '../sources/replay/replay-source.js';
import { CONTEXT_PATHS, SHAPE_PATHS, captureError } from '../sources/replay/capture-format.js';
import type { Logger } from '../telemetry/logger.js';
import { classifyInto } from './pipeline.js';
import { FastState, SEND_BATCH, fastBlock, planBlock, type BlockReplayer, type HostState, type RuleContext } from './replay-fast.js';
import { ownMatchers } from './replay-own.js';
import { EntityIds, Epochs } from './replay-facts.js';
import { LineChunks } from './replay-ecs.js';
import type { ReplaySummary, RuleCount } from './replay-summary.js';
import { canonicalTs } from './replay-time.js';
import { ProcessTree } from './replay-tree.js';

export type { ReplaySummary } from './replay-summary.js';

/**
 * The largest pid Linux hands out (PID_MAX_LIMIT on 64-bit). The process
 * table is keyed by pid, so with this bound it never evicts: eviction order
 * would depend on every lookup, and replay must not.
 */
const PID_MAX_LIMIT = 4 * 1024 * 1024;

export interface ReplayOptions {
  inputs: readonly string[];
  /** Rule sources (bundled and/or paths); runtime lists come from each capture. */
  rules: Omit<RuleSources, 'lists'>;
  /** Send every selected event, or only alerts. */
  events: 'all' | 'alerts';
  /** Window on @timestamp: [since, until), canonical ISO-8601 (canonicalTime). */
  since?: string | undefined;
  until?: string | undefined;
  /** A condition in the rule language, applied after enrichment. */
  filter?: string | undefined;
  /** Only this process (entity id) and its descendants, with the lifecycle events of its ancestors. */
  process?: string | undefined;
  /** 'max', or a multiple of the recorded pace (1 = as recorded). */
  speed: 'max' | number;
  /** Replay what is readable and report damage, instead of stopping at the first. */
  skipBad: boolean;
  /** Largest inflated capture block accepted (default 64 MiB). */
  maxBlockBytes?: number;
  /** The sinks for a host's events (called once per distinct host, inputs in order; closed when its inputs are done). */
  sinks: (host: HostInfo, agent: AgentInfo) => Sink[];
  /** Host facts for journal directories. */
  localHost: () => { host: HostInfo; agent: AgentInfo };
  onProgress?: (p: ReplayProgress) => void;
  onDamage?: (d: InputDamage) => void;
  log?: Logger;
  /** Turn the fast path off (tests compare both). */
  noFastPath?: boolean;
}

export interface ReplayProgress {
  /** Records read (all passes). */
  records: number;
  /** Bytes read and to read, over every input (doubled for --process: two passes). */
  done: number;
  total: number;
  elapsedMs: number;
}

const EXEC = 'exec';
const FORK = 'fork';
const EXIT = 'exit';
const LIFECYCLE: ReadonlySet<EventKind> = new Set<EventKind>([EXEC, FORK, EXIT]);

/** The sinks of one replay: each batch to every sink, in order, waiting for them (backpressure). */
async function send(sinks: readonly Sink[], batch: readonly ClassifiedEvent[]): Promise<void> {
  if (!batch.length) return;
  await Promise.all(sinks.map((s) => s.send(batch)));
}

/** Runs one replay; see the file comment. */
class Replayer implements BlockReplayer {
  private readonly hosts = new Map<string, HostState>();
  private current: HostState | undefined;
  private readonly rules = new Map<string, RuleContext>();
  private readonly started = performance.now();
  readonly summary: ReplaySummary = {
    inputs: 0,
    records: 0,
    damaged: 0,
    damage: [],
    written: 0,
    alerts: 0,
    byRule: [],
    bySeverity: { critical: 0, high: 0, medium: 0, low: 0 },
    unclosed: [],
    skipped: 0,
    seconds: 0,
  };
  private readonly ruleCounts = new Map<string, RuleCount>();
  /** The input being read (names the file in damage found after its blocks, at the sinks). */
  private inputPath = '';
  /** Progress: bytes of inputs finished in earlier passes/inputs. */
  private doneBefore = 0;
  private totalBytes = 0;
  /** Pacing: the first event's time and when it was replayed. */
  private paceBase: { event: number; wall: number } | undefined;
  /** --process, second pass: what to let through. */
  private subtree: Set<string> | undefined;
  private ancestors: Set<string> | undefined;
  /** --process, first pass: every process seen → its parent and identity. */
  private tree: ProcessTree | undefined;
  readonly windowed: boolean;

  constructor(private readonly o: ReplayOptions) {
    if (o.since !== undefined && o.until !== undefined && o.since >= o.until) {
      throw new SensorError('ESENSOR_USAGE', `--since ${o.since} is not before --until ${o.until}`);
    }
    this.windowed = o.since !== undefined || o.until !== undefined;
  }

  async run(): Promise<ReplaySummary> {
    // Rule and filter errors first, before any input is read; compiled for the first input's runtime
    // lists when its header says them (a live capture's), so that input does not compile the ruleset again.
    const first = this.o.inputs[0] !== undefined ? headerRules(this.o.inputs[0], this.o.maxBlockBytes) : undefined;
    this.ruleContext(first?.lists ?? {}, first?.encoding ?? { context: CONTEXT_PATHS, shape: SHAPE_PATHS });
    try {
      const passes = this.o.process !== undefined ? 2 : 1;
      for (const path of this.o.inputs) this.totalBytes += inputSize(path) * passes;
      if (this.o.process !== undefined) {
        this.tree = new ProcessTree();
        await this.pass(false);
        this.selectProcess(this.o.process);
        this.hosts.clear();
        this.summary.records = 0;
        this.summary.damaged = 0;
        this.summary.damage.length = 0;
        this.summary.unclosed.length = 0;
        this.summary.skipped = 0;
      }
      await this.pass(true);
    } finally {
      await this.closeSinks();
    }
    this.summary.byRule = [...this.ruleCounts.values()].sort(
      (a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || b.count - a.count || a.rule.localeCompare(b.rule),
    );
    this.summary.seconds = (performance.now() - this.started) / 1000;
    return this.summary;
  }

  /** One pass over every input; `output` false: the --process discovery pass. */
  private async pass(output: boolean): Promise<void> {
    for (const path of this.o.inputs) {
      this.inputPath = path;
      const input = openInput(path, {
        skipBad: this.o.skipBad,
        onDamage: (d) => this.damage(d),
        localHost: this.o.localHost,
        ...(this.o.maxBlockBytes !== undefined ? { maxBlockBytes: this.o.maxBlockBytes } : {}),
      });
      try {
        if (this.summary.inputs < this.o.inputs.length) this.summary.inputs++;
        const hs = await this.hostFor(input, output);
        this.o.log?.info(
          { input: input.path, kind: input.kind, host: input.host.name, sensor: input.header?.sensor.version, time: input.header?.time, pass: output ? 'replay' : 'process tree' },
          'reading %s',
          input.path,
        );
        const rc = this.ruleContext(input.lists, input.header?.encoding ?? { context: CONTEXT_PATHS, shape: SHAPE_PATHS });
        for (let b = input.next(); b; b = input.next()) {
          this.summary.records += b.count;
          const out = output ? await this.block(b, hs, rc, input.path) : this.discover(b, hs, input.path);
          hs.enricher.table.expire();
          if (output && out.length) await this.write(hs, out);
          this.progress(input);
          // Let timers (progress, sinks) run between blocks.
          await new Promise<void>((r) => setImmediate(r));
        }
        this.summary.damaged += input.lost;
        if (input.unclosed) {
          this.summary.unclosed.push(input.path);
          this.o.log?.info({ input: input.path }, '%s was never closed by its writer: its end may be missing', input.path);
        }
        this.doneBefore += input.total;
      } finally {
        input.close();
      }
    }
  }

  private damage(d: InputDamage): void {
    this.summary.damage.push(d);
    this.o.onDamage?.(d);
  }

  private progress(input: ReplayInput): void {
    if (!this.o.onProgress) return;
    const now = performance.now();
    this.o.onProgress({ records: this.summary.records, done: this.doneBefore + input.done, total: this.totalBytes, elapsedMs: now - this.started });
  }

  /** Per host: one enricher (process table) for all its inputs, in order; its sinks. */
  private async hostFor(input: ReplayInput, output: boolean): Promise<HostState> {
    const key = JSON.stringify([input.host, input.agent]);
    let hs = this.hosts.get(key);
    if (!hs) {
      hs = {
        key,
        host: input.host,
        agent: input.agent,
        // Nothing from this machine: no /proc, no /etc/passwd, no cgroups.
        enricher: new Enricher({ hostId: input.host.id, seedFromProc: false, resolveContainers: false, resolveNames: false, maxProcesses: PID_MAX_LIMIT }),
        epochs: new Epochs(),
        ids: new EntityIds(input.host.id),
        sinks: undefined,
      };
      this.hosts.set(key, hs);
    }
    if (output && this.current !== hs) {
      // One host's sinks at a time: inputs of another host close them first (files are appended to in order).
      await this.closeSinks();
      hs.sinks = this.o.sinks(hs.host, hs.agent);
      this.current = hs;
    }
    return hs;
  }

  private async closeSinks(): Promise<void> {
    const hs = this.current;
    this.current = undefined;
    if (!hs?.sinks) return;
    const sinks = hs.sinks;
    hs.sinks = undefined;
    for (const s of sinks) await s.close();
  }

  /** The ruleset for an input's runtime lists (and encoding), compiled once. */
  private ruleContext(inputLists: Readonly<Record<string, readonly string[]>>, enc: { context: readonly string[]; shape: readonly string[] }): RuleContext {
    const key = JSON.stringify([inputLists, enc]);
    let rc = this.rules.get(key);
    if (rc) return rc;
    const lists = inputLists as Record<string, readonly string[]>;
    const engine = loadRules({ ...this.o.rules, lists });
    let filter: EventFilter | undefined;
    if (this.o.filter !== undefined) {
      const defs = readRuleFiles(ruleFiles({ ...this.o.rules, lists }), this.o.rules.read).files;
      filter = compileFilter(this.o.filter, { definitions: defs, lists });
    }
    const ecsPlans =
      this.o.events === 'all' && !filter && this.o.process === undefined && this.o.speed === 'max' && this.o.since === undefined && this.o.until === undefined;
    rc = { engine, filter, byShape: undefined, byContext: undefined, ecsPlans: false, shapePaths: enc.shape };
    const need =
      this.o.events === 'alerts'
        ? { rules: engine.rules, always: ['loss' as const], ...(filter ? { filter } : {}) }
        : filter
          ? { filter }
          : ecsPlans
            ? { rules: engine.rules, always: ['loss' as const] }
            : undefined;
    if (need && !this.o.noFastPath && this.o.process === undefined && this.o.speed === 'max') {
      const shapeFields = new Set(enc.shape);
      const ctxPaths = enc.context;
      const inShape = (f: string): boolean => shapeFields.has(f);
      const inContext = (f: string): boolean => inShape(f) || ctxPaths.some((p) => f === p || f.startsWith(`${p}.`));
      rc.byShape = partialMatcher(need, inShape);
      rc.byContext = partialMatcher(need, inContext);
      rc.byOwn = ownMatchers(need, inContext);
      rc.ecsPlans = ecsPlans;
    }
    this.rules.set(key, rc);
    return rc;
  }

  inWindow(ts: string | undefined): boolean {
    const { since, until } = this.o;
    if (since === undefined && until === undefined) return true;
    const t = canonicalTs(ts);
    if (t === undefined) return false;
    return (since === undefined || t >= since) && (until === undefined || t < until);
  }

  /** The event (enriched) passes window, filter and process selection. */
  private selected(ev: SensorEvent, rc: RuleContext): boolean {
    if (!this.inWindow(ev['@timestamp'])) return false;
    if (rc.filter && !rc.filter.test(ev)) return false;
    if (this.subtree) {
      const id = ev.process.entity_id;
      if (!this.subtree.has(id) && !(this.ancestors!.has(id) && LIFECYCLE.has(ev.ebpf.kind))) return false;
    }
    return true;
  }

  /**
   * Enrich, select, classify; push what goes out. The stages are the live
   * pipeline's: the same Enricher.enrich, and pipeline.ts `classifyInto` for
   * the rules and what goes out. True, or why the record is too broken to handle.
   */
  handle(ev: SensorEvent, hs: HostState, rc: RuleContext, out: ClassifiedEvent[]): true | string {
    try {
      hs.enricher.enrich(ev);
    } catch {
      // Only a malformed record can make enrich throw (a start time that is not a number …).
      return 'the event cannot be enriched: its process facts are malformed';
    }
    // enrich() may have changed the entries of the process and (lookups aside) nothing else.
    hs.epochs.bump(ev.process.pid);
    try {
      // Selection comes between the stages: the process table learns from every event.
      if (this.selected(ev, rc)) classifyInto(rc.engine, this.o.events, ev, out);
    } catch (e) {
      // A field of the wrong type (a number where rules expect a string …) is the record's fault; anything else is ours.
      const problem = e instanceof SensorError ? undefined : eventTypeProblem(ev);
      if (problem === undefined) throw e;
      return `not a canonical event: ${problem}`;
    }
    return true;
  }

  /** A damaged record: throw, or (skip-bad) report and go on. */
  bad(e: unknown, b: ReplayBlock, i: number, path: string): void {
    if (!(e instanceof SensorError)) throw e;
    if (!this.o.skipBad) throw e;
    this.summary.damaged++;
    this.damage({ file: path, error: e, records: { from: b.firstRecord + i + 1, to: b.firstRecord + i + 1 } });
  }

  private async block(b: ReplayBlock, hs: HostState, rc: RuleContext, path: string): Promise<ClassifiedEvent[]> {
    const out: ClassifiedEvent[] = [];
    if (b instanceof CaptureBlock && rc.byShape) {
      const st = new FastState(b, rc.ecsPlans ? (hs.lines ??= new LineChunks()) : undefined);
      for (let i = 0; i < b.count; ) {
        i = rc.ecsPlans ? planBlock(this, b, hs, rc, st, i, out) : fastBlock(this, b, hs, rc, st, i, out);
        // Sinks get batches of a bounded size: memory stays flat whatever the block holds.
        if (out.length >= SEND_BATCH) await this.write(hs, out.splice(0));
      }
      return out;
    }
    for (let i = 0; i < b.count; i++) {
      let ev: SensorEvent;
      try {
        ev = b.materialize(i);
      } catch (e) {
        this.bad(e, b, i, path);
        continue;
      }
      if (this.o.speed !== 'max') {
        const wait = this.pace(ev['@timestamp']);
        if (wait > 2) {
          if (out.length) await this.write(hs, out.splice(0));
          await new Promise((r) => setTimeout(r, wait));
        }
      }
      const handled = this.handle(ev, hs, rc, out);
      if (handled !== true) this.bad(captureError(path, b.where(i), handled), b, i, path);
      // Sinks get batches of a bounded size: memory stays flat whatever the block holds.
      if (out.length >= SEND_BATCH) await this.write(hs, out.splice(0));
    }
    return out;
  }

  /** Ms to wait before replaying an event recorded at `ts`. */
  private pace(ts: string): number {
    const t = isoToEpochMs(ts);
    if (!Number.isFinite(t)) return 0;
    const now = performance.now();
    if (!this.paceBase) {
      this.paceBase = { event: t, wall: now };
      return 0;
    }
    const due = this.paceBase.wall + (t - this.paceBase.event) / (this.o.speed as number);
    return due - now;
  }

  private async write(hs: HostState, batch: ClassifiedEvent[]): Promise<void> {
    try {
      await send(hs.sinks ?? [], batch);
    } catch (e) {
      if (e instanceof SensorError) throw e;
      batch = this.dropMalformed(batch, e);
      await send(hs.sinks ?? [], batch);
    }
    // The sinks have the batch: the bytes of its planned lines may be written over.
    hs.lines?.release();
    for (const ce of batch) {
      if (ce.verdict.classification !== 'suspicious') continue;
      this.summary.alerts++;
      for (const m of ce.verdict.matches) this.count(m);
      const top = topMatch(ce.verdict)!;
      this.summary.bySeverity[top.severity]++;
    }
    this.summary.written += batch.length;
  }

  /**
   * A batch the sinks could not format: the events with a field of the
   * wrong type are the input's damage (thrown, or reported and left out
   * with --skip-bad); when there is none, `failure` is a bug and is thrown.
   */
  private dropMalformed(batch: ClassifiedEvent[], failure: unknown): ClassifiedEvent[] {
    const kept: ClassifiedEvent[] = [];
    let found = false;
    for (const ce of batch) {
      const problem = eventTypeProblem(ce.event);
      if (problem === undefined) {
        kept.push(ce);
        continue;
      }
      found = true;
      const id = typeof ce.event.event?.id === 'string' ? ce.event.event.id : '?';
      const e = captureError(this.inputPath, `event ${id}`, `not a canonical event: ${problem}`);
      if (!this.o.skipBad) throw e;
      this.summary.damaged++;
      this.damage({ file: this.inputPath, error: e });
    }
    if (!found) throw failure;
    return kept;
  }

  private count(m: RuleMatch): void {
    const key = `${m.id}\0${m.severity}`;
    const c = this.ruleCounts.get(key);
    if (c) c.count++;
    else this.ruleCounts.set(key, { rule: m.id, name: m.name, severity: m.severity, count: 1 });
  }

  /** --process, first pass: enrich everything and remember who is whose parent. */
  private discover(b: ReplayBlock, hs: HostState, path: string): ClassifiedEvent[] {
    const tree = this.tree!;
    for (let i = 0; i < b.count; i++) {
      let ev: SensorEvent;
      try {
        ev = b.materialize(i);
      } catch (e) {
        this.bad(e, b, i, path);
        continue;
      }
      try {
        hs.enricher.enrich(ev);
      } catch {
        this.bad(captureError(path, b.where(i), 'the event cannot be enriched: its process facts are malformed'), b, i, path);
        continue;
      }
      tree.record(ev);
    }
    return [];
  }

  private selectProcess(target: string): void {
    const { subtree, ancestors, chain } = this.tree!.select(target);
    this.subtree = subtree;
    this.ancestors = ancestors;
    this.summary.ancestry = chain;
    this.summary.processes = subtree.size;
    this.tree = undefined;
  }
}

/** Replay inputs through enrich → rules → sinks; see the file comment. */
export async function replay(o: ReplayOptions): Promise<ReplaySummary> {
  return new Replayer(o).run();
}

