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
 * would (`tableEffect`, which mirrors the table half of enrich.ts; a test
 * compares the fast path with materializing every event). Context facts
 * count as known only when enrichment provably leaves them unchanged.
 *
 * With every event going out (`--events all`, no filter, window or
 * process), the same decisions tell which events are normal and left as
 * they are by enrichment; those are written from ECS plans (replay-ecs.ts)
 * instead of being built: the first event of each process context, event
 * template and class of shapes is built and its line cut into a plan, the
 * others fill the plan with their own values.
 */
import { basename } from 'node:path';
import { SensorError } from '../errors.js';
import type { AgentInfo, ClassifiedEvent, EventKind, HostInfo, RuleMatch, SensorEvent, Severity } from '../model/event.js';
import { EVENT_KINDS } from '../model/event.js';
import { SEVERITY_RANK, topMatch } from '../model/severity.js';
import { isoToEpochMs } from '../model/time.js';
import { Enricher, type EnricherOptions } from '../enrich/enrich.js';
import type { CaptureWriter } from '../sources/replay/capture-writer.js';
import { entityId, ticksOf, type ProcessTable } from '../enrich/process-table.js';
import { loadRules, ruleFiles, type RuleEngine, type RuleSources } from '../rules/engine.js';
import { compileFilter, emptyPartial, partialMatcher, type EventFilter, type PartialVerdict } from '../rules/filter.js';
import { readRuleFiles } from '../rules/source.js';
import type { Sink } from '../sinks/sink.js';
import { eventTypeProblem } from '../sources/replay/capture-checks.js';
import { CaptureBlock, inputSize, openInput, type InputDamage, type ReplayBlock, type ReplayInput } from '../sources/replay/replay-source.js';
import { CONTEXT_PATHS, SHAPE_PATHS, captureError, splitPath } from '../sources/replay/capture-format.js';
import type { Logger } from '../telemetry/logger.js';
import { From, PlannedEvent, buildPlan, isVerbatim, planHolds, renderPlan, type EcsPlan, type Slot } from './replay-ecs.js';

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

export interface RuleCount {
  rule: string;
  name: string;
  severity: Severity;
  count: number;
}

/** One process in an ancestry or subtree. */
export interface ProcessNode {
  entity_id: string;
  pid: number;
  name?: string;
  executable?: string;
  args?: string[];
  parent?: string;
}

export interface ReplaySummary {
  inputs: number;
  /** Records read from the inputs (the last pass for --process). */
  records: number;
  /** Records lost to damage (with --skip-bad). */
  damaged: number;
  damage: InputDamage[];
  /** Events handed to the sinks. */
  written: number;
  /** Alerts among them. */
  alerts: number;
  byRule: RuleCount[];
  bySeverity: Record<Severity, number>;
  /** Captures whose writer never closed them (their end may be missing). */
  unclosed: string[];
  /** Events whose body was never parsed (fast path). */
  skipped: number;
  seconds: number;
  /** --process: the chain from the oldest known ancestor down to the process, and the processes replayed. */
  ancestry?: ProcessNode[];
  processes?: number;
}

/** What the fast path needs from a context definition, computed once per block. */
interface CtxInfo {
  ok: boolean;
  /** The facts past the core ones (executable … stable) have been read. */
  full: boolean;
  pid: number;
  ticks: number | undefined;
  ppid: number;
  parentTicks: number | undefined;
  name: string;
  parentName: string | undefined;
  executable: string | undefined;
  args: string[] | undefined;
  cwd: string | undefined;
  cgroupId: string | undefined;
  parentEntityId: string | undefined;
  /** enrich() fills nothing in events of this context (the name check aside). */
  stable: boolean;
  /** The table holds this process (pid, start), as of this epoch of its pid (-1: not known). */
  present: number;
  /** nameStable() held for non-exec events as of this epoch of the pid (-1: not known). */
  named: number;
}

/** What the fast path learns about a block's definitions, kept while it works through the block. */
class FastState {
  readonly ctxInfo: Array<CtxInfo | undefined>;
  /** Per shape: 0 not yet decided, 1 nothing can match, 2 maybe (look further), 3 no fast decision (materialize). */
  readonly shapeState: Uint8Array;
  readonly shapeKind: Array<EventKind | undefined>;
  readonly shapeOutcome: Array<string | undefined>;
  readonly shapePartial: Array<Record<string, unknown> | undefined>;
  /** (context, shape) → may a rule match. */
  readonly pairs = new Map<number, boolean>();
  /** ECS plans (`--events all`): per shape its class (-1 not yet known), slots and slot values; plans by key. */
  readonly shapeClass: Int32Array;
  readonly shapeSlots: Array<Slot[] | undefined>;
  readonly shapeSlotValues: Array<unknown[] | undefined>;
  readonly classes = new Map<string, number>();
  readonly plans = new Map<number, EcsPlan | null>();
  constructor(b: CaptureBlock) {
    this.shapeClass = new Int32Array(b.shapeCount).fill(-1);
    this.shapeSlots = new Array(b.shapeCount);
    this.shapeSlotValues = new Array(b.shapeCount);
    this.ctxInfo = new Array(b.contextCount);
    this.shapeState = new Uint8Array(b.shapeCount);
    this.shapeKind = new Array(b.shapeCount);
    this.shapeOutcome = new Array(b.shapeCount);
    this.shapePartial = new Array(b.shapeCount);
  }
}

/** A ruleset compiled for one set of runtime lists, with its partial matchers. */
interface RuleContext {
  engine: RuleEngine;
  filter: EventFilter | undefined;
  /** Fast path: decisions from shapes alone, and from shapes with contexts. */
  byShape: Map<EventKind, PartialVerdict> | undefined;
  byContext: Map<EventKind, PartialVerdict> | undefined;
  /** Every event goes out: normal events left as they are by enrichment are written from ECS plans. */
  ecsPlans: boolean;
  /** The shape fields of the input's encoding. */
  shapePaths: readonly string[];
}

interface HostState {
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

/**
 * The entity ids upsert() would compute (sha256 of host, pid and start), kept
 * for a while: a new process is upserted at its fork and again at its exec,
 * and the hash is most of the cost.
 */
class EntityIds {
  private readonly memo = new Map<string, string>();
  constructor(private readonly hostId: string) {}
  of(pid: number, ticks: number): string {
    const key = `${pid}:${ticks}`;
    let id = this.memo.get(key);
    if (id === undefined) {
      if (this.memo.size >= 4096) this.memo.clear();
      id = entityId(this.hostId, pid, ticks);
      this.memo.set(key, id);
    }
    return id;
  }
}

/** Change counters per pid (see HostState.epochs). */
class Epochs {
  private readonly small = new Uint32Array(1 << 16);
  private readonly large = new Map<number, number>();
  get(pid: number): number {
    return pid >= 0 && pid < 65536 ? this.small[pid]! : (this.large.get(pid) ?? 0);
  }
  bump(pid: number): void {
    if (pid >= 0 && pid < 65536) this.small[pid]!++;
    else this.large.set(pid, (this.large.get(pid) ?? 0) + 1);
  }
}

const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low'];
/** Events per batch handed to the sinks (the live pipeline's journal deliveries use 1000–2000). */
const SEND_BATCH = 2048;
const EXEC = 'exec';
const FORK = 'fork';
const EXIT = 'exit';
const MATERIALIZED: ReadonlySet<string> = new Set([EXEC, FORK, 'setuid', 'setgid', 'setsid', 'setpgid', 'prctl']);
const LIFECYCLE: ReadonlySet<EventKind> = new Set<EventKind>([EXEC, FORK, EXIT]);
const KIND_SET: ReadonlySet<string> = new Set(EVENT_KINDS);

function base(exe: string): string {
  return exe.slice(exe.lastIndexOf('/') + 1);
}

/** The sinks of one replay: each batch to every sink, in order, waiting for them (backpressure). */
async function send(sinks: readonly Sink[], batch: readonly ClassifiedEvent[]): Promise<void> {
  if (!batch.length) return;
  await Promise.all(sinks.map((s) => s.send(batch)));
}

/**
 * Canonical form of a time given on the command line: ISO-8601 in UTC with
 * nine fractional digits, as @timestamp is written, so comparing strings
 * compares times. Accepts a date, a date and time, fractions up to ns and a
 * zone (Z or ±hh:mm). Undefined when `s` is not such a time.
 */
export function canonicalTime(s: string): string | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s.trim());
  if (!m) return undefined;
  const zone = m[6] === undefined || m[6] === 'Z' ? 'Z' : m[6].length === 5 ? `${m[6].slice(0, 3)}:${m[6].slice(3)}` : m[6];
  const ms = Date.parse(`${m[1]}T${m[2] ?? '00'}:${m[3] ?? '00'}:${m[4] ?? '00'}${zone}`);
  if (!Number.isFinite(ms)) return undefined;
  const iso = new Date(ms).toISOString(); // 2026-11-23T16:12:00.000Z
  return `${iso.slice(0, 19)}.${(m[5] ?? '').padEnd(9, '0')}Z`;
}

/** A --since/--until option in canonical form; a usage error naming the option when it is not a time. */
export function timeOption(opt: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const t = canonicalTime(v);
  if (t === undefined) throw new SensorError('ESENSOR_USAGE', `--${opt} "${v}" is not an ISO-8601 time (e.g. 2026-11-23T16:00:00Z)`);
  return t;
}

/** An event's timestamp in canonical form (events written by the sensor already are). */
function canonicalTs(ts: string | undefined): string | undefined {
  if (ts === undefined) return undefined;
  return ts.length === 30 && ts.charCodeAt(29) === 90 /* Z */ ? ts : (canonicalTime(ts) ?? ts);
}

/** Runs one replay; see the file comment. */
class Replayer {
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
  private links: Map<string, ProcessNode> | undefined;

  constructor(private readonly o: ReplayOptions) {
    if (o.since !== undefined && o.until !== undefined && o.since >= o.until) {
      throw new SensorError('ESENSOR_USAGE', `--since ${o.since} is not before --until ${o.until}`);
    }
  }

  async run(): Promise<ReplaySummary> {
    // Rule and filter errors first, before any input is read (inputs without runtime lists reuse this).
    this.ruleContext({}, { context: CONTEXT_PATHS, shape: SHAPE_PATHS });
    try {
      const passes = this.o.process !== undefined ? 2 : 1;
      for (const path of this.o.inputs) this.totalBytes += inputSize(path) * passes;
      if (this.o.process !== undefined) {
        this.links = new Map();
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
      rc.ecsPlans = ecsPlans;
    }
    this.rules.set(key, rc);
    return rc;
  }

  private inWindow(ts: string | undefined): boolean {
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

  /** Enrich, select, classify; push what goes out. True, or why the record is too broken to handle. */
  private handle(ev: SensorEvent, hs: HostState, rc: RuleContext, out: ClassifiedEvent[]): true | string {
    try {
      hs.enricher.enrich(ev);
    } catch {
      // Only a malformed record can make enrich throw (a start time that is not a number …).
      return 'the event cannot be enriched: its process facts are malformed';
    }
    // enrich() may have changed the entries of the process and (lookups aside) nothing else.
    hs.epochs.bump(ev.process.pid);
    let verdict;
    try {
      if (!this.selected(ev, rc)) return true;
      verdict = rc.engine.classify(ev);
    } catch (e) {
      // A field of the wrong type (a number where rules expect a string …) is the record's fault; anything else is ours.
      const problem = e instanceof SensorError ? undefined : eventTypeProblem(ev);
      if (problem === undefined) throw e;
      return `not a canonical event: ${problem}`;
    }
    // As live: loss reports go out even when only alerts do.
    if (verdict.classification === 'normal' && this.o.events === 'alerts' && ev.ebpf.kind !== 'loss') return true;
    out.push({ event: ev, verdict });
    return true;
  }

  /** A damaged record: throw, or (skip-bad) report and go on. */
  private bad(e: unknown, b: ReplayBlock, i: number, path: string): void {
    if (!(e instanceof SensorError)) throw e;
    if (!this.o.skipBad) throw e;
    this.summary.damaged++;
    this.damage({ file: path, error: e, records: { from: b.firstRecord + i + 1, to: b.firstRecord + i + 1 } });
  }

  private async block(b: ReplayBlock, hs: HostState, rc: RuleContext, path: string): Promise<ClassifiedEvent[]> {
    const out: ClassifiedEvent[] = [];
    if (b instanceof CaptureBlock && rc.byShape) {
      const st = new FastState(b);
      for (let i = 0; i < b.count; ) {
        i = rc.ecsPlans ? this.planBlock(b, hs, rc, st, i, out) : this.fastBlock(b, hs, rc, st, i, out);
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

  /**
   * The fast path over one capture block (see the file comment), from record
   * `from` until the block ends or `out` holds a batch; returns where it stopped.
   */
  private fastBlock(b: CaptureBlock, hs: HostState, rc: RuleContext, st: FastState, from: number, out: ClassifiedEvent[]): number {
    const table = hs.enricher.table;
    const { ctxInfo, shapeKind, shapeOutcome, shapePartial, pairs } = st;
    const epochs = hs.epochs;
    const windowed = this.o.since !== undefined || this.o.until !== undefined;
    const byShape = rc.byShape!;
    const byContext = rc.byContext!;
    const anyBad = b.bad.size > 0;
    const ctxOf = b.ctxOf;
    const shapeOf = b.shapeOf;
    let i = from;
    for (; i < b.count && out.length < SEND_BATCH; i++) {
      if (anyBad && b.bad.has(i)) {
        this.bad(b.bad.get(i), b, i, b.file);
        continue;
      }
      const c = ctxOf[i]!;
      const s = shapeOf[i]!;
      const state = shapeStateOf(b, st, s, byShape);
      let ci = ctxInfo[c];
      if (ci === undefined) ci = ctxInfo[c] = contextInfo(b, c);
      if (state !== 3 && ci.ok) {
        const kind = shapeKind[s]!;
        let skip = state === 1 || (windowed && !this.inWindow(b.timestamp(i)));
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
        }
        if (skip && (kind !== EXEC || completeFacts(ci, b, c).ok)) {
          tableEffect(table, kind, shapeOutcome[s], ci, epochs, hs.ids, kind === EXIT ? isoToEpochMs(b.timestamp(i) ?? '') : 0);
          this.summary.skipped++;
          continue;
        }
      }
      let ev: SensorEvent;
      try {
        ev = b.materialize(i);
      } catch (e) {
        this.bad(e, b, i, b.file);
        continue;
      }
      const handled = this.handle(ev, hs, rc, out);
      if (handled !== true) this.bad(captureError(b.file, b.where(i), handled), b, i, b.file);
    }
    return i;
  }

  /**
   * `--events all` over one capture block (see the file comment), from record
   * `from` until the block ends or `out` holds a batch; returns where it stopped.
   */
  private planBlock(b: CaptureBlock, hs: HostState, rc: RuleContext, st: FastState, from: number, out: ClassifiedEvent[]): number {
    const table = hs.enricher.table;
    const epochs = hs.epochs;
    const byShape = rc.byShape!;
    const byContext = rc.byContext!;
    const { ctxInfo, shapeKind, shapeOutcome, shapePartial, pairs, plans } = st;
    const epochOf = (pid: number): number => epochs.get(pid);
    const anyBad = b.bad.size > 0;
    let i = from;
    for (; i < b.count && out.length < SEND_BATCH; i++) {
      if (anyBad && b.bad.has(i)) {
        this.bad(b.bad.get(i), b, i, b.file);
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
        if (kind !== EXEC && completeFacts(ci, b, c).stable && nameStable(kind, ci, table, epochs)) {
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
          }
          const t = b.templateOf(i);
          const cls = normal ? shapeClassOf(b, st, s, rc.shapePaths) : -1;
          if (cls >= 0 && cls < 65536 && t >= 0 && t < 4096 && c < 2 ** 20) key = (c * 4096 + t) * 65536 + cls;
          let plan = key >= 0 ? plans.get(key) : null;
          if (plan && !planHolds(plan, epochOf)) {
            // A table entry it was written from changed: the next event built writes a new one.
            plans.delete(key);
            plan = undefined;
          }
          if (plan) {
            const own = b.ownValues(i);
            const ts = b.timestamp(i);
            const line = own && renderPlan(plan, ts, own, st.shapeSlotValues[s]!);
            const id = own?.[plan.idIndex];
            if (line !== undefined && typeof id === 'string') {
              tableEffect(table, kind, shapeOutcome[s], ci, epochs, hs.ids, kind === EXIT ? isoToEpochMs(ts ?? '') : 0);
              const at = i;
              out.push(new PlannedEvent(line, id, plan, () => b.materialize(at)));
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
        this.bad(e, b, i, b.file);
        continue;
      }
      const n = out.length;
      const handled = this.handle(ev, hs, rc, out);
      if (handled !== true) this.bad(captureError(b.file, b.where(i), handled), b, i, b.file);
      if (key >= 0 && !plans.has(key)) {
        // The first event of its key: its line, cut at the values that vary, is the plan of the others.
        const ce = out.length === n + 1 ? out[n]! : undefined;
        plans.set(key, ce && ce.verdict.classification === 'normal' ? this.planOf(b, st, i, s, ev, hs) : null);
      }
    }
    return i;
  }

  /** The ECS plan cut from event `i` (built and enriched as `ev`), or null. */
  private planOf(b: CaptureBlock, st: FastState, i: number, s: number, ev: SensorEvent, hs: HostState): EcsPlan | null {
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
    return buildPlan(ev, slots, { ts: b.timestamp(i), own, shape: st.shapeSlotValues[s]! }, hs.host, hs.agent, (pid) => hs.epochs.get(pid));
  }

  private async write(hs: HostState, batch: ClassifiedEvent[]): Promise<void> {
    try {
      await send(hs.sinks ?? [], batch);
    } catch (e) {
      if (e instanceof SensorError) throw e;
      batch = this.dropMalformed(batch, e);
      await send(hs.sinks ?? [], batch);
    }
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
    const links = this.links!;
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
      const p = ev.process;
      if (!p.entity_id) continue;
      const known = links.get(p.entity_id);
      // The latest image wins (exec replaces it); the parent link never changes.
      const node: ProcessNode = { entity_id: p.entity_id, pid: p.pid, name: p.name };
      if (p.executable !== undefined) node.executable = p.executable;
      if (p.args !== undefined) node.args = p.args;
      const parent = p.parent.entity_id || known?.parent;
      if (parent) node.parent = parent;
      if (!known || ev.ebpf.kind === EXEC || known.executable === undefined) links.set(p.entity_id, node);
      // A parent never seen acting (older than the recording) is known from its children.
      if (p.parent.entity_id && !links.has(p.parent.entity_id)) {
        const q = p.parent;
        const pn: ProcessNode = { entity_id: q.entity_id!, pid: q.pid };
        if (q.name !== undefined) pn.name = q.name;
        if (q.executable !== undefined) pn.executable = q.executable;
        if (q.args !== undefined) pn.args = q.args;
        links.set(q.entity_id!, pn);
      }
    }
    return [];
  }

  private selectProcess(target: string): void {
    const links = this.links!;
    if (!links.has(target)) {
      throw new SensorError('ESENSOR_USAGE', `--process ${target}: no event of this process (entity id) in the input`);
    }
    const children = new Map<string, string[]>();
    for (const n of links.values()) {
      if (!n.parent || n.parent === n.entity_id) continue;
      if (!children.has(n.parent)) children.set(n.parent, []);
      children.get(n.parent)!.push(n.entity_id);
    }
    const subtree = new Set<string>([target]);
    const queue = [target];
    while (queue.length) {
      for (const c of children.get(queue.shift()!) ?? []) {
        if (subtree.has(c)) continue;
        subtree.add(c);
        queue.push(c);
      }
    }
    const chain: ProcessNode[] = [];
    const ancestors = new Set<string>();
    for (let id = links.get(target)?.parent; id !== undefined && !ancestors.has(id) && !subtree.has(id); ) {
      ancestors.add(id);
      const n = links.get(id);
      chain.unshift(n ?? { entity_id: id, pid: -1 });
      id = n?.parent;
    }
    chain.push(links.get(target)!);
    this.subtree = subtree;
    this.ancestors = ancestors;
    this.summary.ancestry = chain;
    this.summary.processes = subtree.size;
    this.links = undefined;
  }
}

/** What the shape alone decides (FastState.shapeState), worked out on first use. */
function shapeStateOf(b: CaptureBlock, st: FastState, s: number, byShape: Map<EventKind, PartialVerdict>): number {
  let state = st.shapeState[s]!;
  if (state !== 0) return state;
  const kind = b.shapeField(s, 'ebpf.kind');
  const outcome = b.shapeField(s, 'event.outcome');
  if (typeof kind !== 'string' || !KIND_SET.has(kind)) state = 3;
  // Events that set a process's Session View context in the table (ids, session,
  // group, tty, entry leader: enrich/session.ts) always take the full path.
  else if (MATERIALIZED.has(kind)) state = 3;
  else {
    st.shapeKind[s] = kind as EventKind;
    st.shapeOutcome[s] = typeof outcome === 'string' ? outcome : undefined;
    const v = byShape.get(kind as EventKind);
    if (v === undefined) state = 1;
    else if (v.t === 'test') state = mayMatch(v.may, (st.shapePartial[s] = partialOf(b, s))) ? 2 : 1;
    else state = 2;
  }
  st.shapeState[s] = state;
  return state;
}

/**
 * A shape's class for ECS plans: shapes with the same values everywhere but
 * in slots (values the serializer writes as they are) share plans.
 */
function shapeClassOf(b: CaptureBlock, st: FastState, s: number, paths: readonly string[]): number {
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
  const key = JSON.stringify(parts);
  cls = st.classes.get(key) ?? st.classes.size;
  st.classes.set(key, cls);
  st.shapeClass[s] = cls;
  st.shapeSlots[s] = slots;
  st.shapeSlotValues[s] = values;
  return cls;
}

/** A partial matcher's answer; a definition too broken to evaluate means "read the event" (the full path reports it). */
function mayMatch(may: (ev: SensorEvent) => boolean, partial: Record<string, unknown>): boolean {
  try {
    return may(partial as unknown as SensorEvent);
  } catch {
    return true;
  }
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

/** Context leaves every table effect needs, in this order (see contextInfo). */
const CORE_PATHS = ['process.pid', 'process.parent.pid', 'process.name', 'process.parent.name', 'ebpf.process.start_boot_ns', 'ebpf.process.parent_start_boot_ns'] as const;
/** Leaves the rest needs: exec's table effect, and whether enrich() would fill anything in. */
const FULL_PATHS = ['process.entity_id', 'process.parent.entity_id', 'process.executable', 'process.args', 'process.working_directory', 'ebpf.process.cgroup_id'] as const;
const OBJECT_PATHS = ['process.user.id', 'process.group.id', 'user.id', 'group.id'];

/** Per template (its leaf map): where the core leaves sit, sorted for one pass over the values. */
const coreIndex = new WeakMap<ReadonlyMap<string, number>, { want: number[]; slot: number[] } | null>();

function coreOf(leaves: ReadonlyMap<string, number>): { want: number[]; slot: number[] } | null {
  let ci = coreIndex.get(leaves);
  if (ci !== undefined) return ci;
  ci = null;
  // The objects downstream code walks through must be there (ids are always set in them).
  if (OBJECT_PATHS.every((p) => leaves.has(p)) && leaves.has('process.pid') && leaves.has('process.parent.pid')) {
    const pairs = CORE_PATHS.map((p, slot) => [leaves.get(p), slot] as const).filter((x): x is readonly [number, number] => x[0] !== undefined);
    pairs.sort((a, b) => a[0] - b[0]);
    ci = { want: pairs.map((x) => x[0]), slot: pairs.map((x) => x[1]) };
  }
  coreIndex.set(leaves, ci);
  return ci;
}

/**
 * What the fast path needs of a context: the core facts every table effect
 * uses, read by position without parsing the rest. The other facts
 * (completeFacts) are read only for the contexts that need them.
 */
function contextInfo(b: CaptureBlock, c: number): CtxInfo {
  const bad: CtxInfo = {
    ok: false,
    full: false,
    pid: 0,
    ticks: undefined,
    ppid: 0,
    parentTicks: undefined,
    name: '',
    parentName: undefined,
    executable: undefined,
    args: undefined,
    cwd: undefined,
    cgroupId: undefined,
    parentEntityId: undefined,
    stable: false,
    present: -1,
    named: -1,
  };
  const leaves = b.contextLeaves(c);
  const core = leaves && coreOf(leaves);
  if (!core) return bad;
  const got = b.contextAt(c, core.want);
  if (!got) return bad;
  const v: unknown[] = new Array(CORE_PATHS.length);
  for (let k = 0; k < got.length; k++) v[core.slot[k]!] = got[k];
  const [pid, ppid, name, parentName, start, pstart] = v;
  if (typeof pid !== 'number' || typeof ppid !== 'number') return bad;
  // Wrong types go the full path, which reports the record (a capture is input, not trusted).
  if (typeof name !== 'string' || (parentName !== undefined && typeof parentName !== 'string')) return bad;
  let ticks: number | undefined;
  let parentTicks: number | undefined;
  try {
    ticks = start !== undefined ? ticksOf(start as string) : undefined;
    parentTicks = pstart !== undefined ? ticksOf(pstart as string) : undefined;
  } catch {
    return bad; // not a number: the full path reports it
  }
  return { ...bad, ok: true, pid, ppid, ticks, parentTicks, name: name as string, parentName: parentName as string | undefined };
}

/** The rest of a context's facts, once: what exec's table effect needs, and whether enrich() would fill anything in. */
function completeFacts(ci: CtxInfo, b: CaptureBlock, c: number): CtxInfo {
  if (ci.full) return ci;
  ci.full = true;
  const leaves = b.contextLeaves(c)!;
  const idx = FULL_PATHS.map((p) => leaves.get(p));
  const want = idx.filter((x): x is number => x !== undefined).sort((x, y) => x - y);
  const got = b.contextAt(c, want);
  if (!got) {
    ci.ok = false;
    return ci;
  }
  const get = (k: number): unknown => (idx[k] === undefined ? undefined : got[want.indexOf(idx[k]!)]);
  const entityId = get(0);
  ci.parentEntityId = get(1) as string | undefined;
  ci.executable = get(2) as string | undefined;
  ci.args = get(3) as string[] | undefined;
  ci.cwd = get(4) as string | undefined;
  ci.cgroupId = get(5) as string | undefined;
  const str = (x: unknown): boolean => x === undefined || typeof x === 'string';
  if (!str(entityId) || !str(ci.parentEntityId) || !str(ci.executable) || !str(ci.cwd) || !str(ci.cgroupId) || (ci.args !== undefined && !(Array.isArray(ci.args) && ci.args.every((a) => typeof a === 'string')))) {
    ci.ok = false;
    return ci;
  }
  ci.stable =
    typeof entityId === 'string' &&
    entityId !== '' &&
    ci.executable !== undefined &&
    ci.args !== undefined &&
    ci.cwd !== undefined &&
    (!!ci.parentEntityId || ci.parentTicks === undefined);
  return ci;
}

/**
 * Would enrich() leave process.name as the context has it? It renames the
 * process after the executable it knows for that pid (not for exec events),
 * so the answer depends on the process table now.
 */
function nameStable(kind: EventKind, ci: CtxInfo, table: ProcessTable, epochs: Epochs): boolean {
  if (kind === EXEC) return true;
  let exe: string | undefined;
  if (kind === FORK) {
    if (ci.ticks === undefined) return true;
    exe = (ci.parentTicks !== undefined ? table.get(ci.ppid, ci.parentTicks) : table.get(ci.ppid))?.executable;
    const b = exe ? base(exe) : '';
    return !b || b === ci.name;
  }
  const epoch = epochs.get(ci.pid);
  if (ci.named === epoch) return true;
  const e = ci.ticks !== undefined ? table.get(ci.pid, ci.ticks) : table.get(ci.pid);
  exe = e?.executable;
  const b = exe ? base(exe) : '';
  const ok = !b || b === ci.name;
  // An entry that has exited may be dropped by the next expire() without a bump: do not remember it.
  if (ok && e && !e.exited) ci.named = epoch;
  return ok;
}

/**
 * What enrich() does to the process table for an event of this context,
 * kind and outcome (src/enrich/enrich.ts, with names and containers off and
 * a table that never evicts, so lookups that only refresh recency have no
 * effect). Kept in step with enrich.ts by test/unit/replay-fast-path.test.ts.
 */
function tableEffect(t: ProcessTable, kind: EventKind, outcome: string | undefined, c: CtxInfo, epochs: Epochs, ids: EntityIds, exitMs: number): void {
  const ticks = c.ticks;
  switch (kind) {
    case EXEC: {
      if (ticks === undefined) break;
      const prev = t.get(c.pid, ticks);
      if (outcome === 'failure') break;
      const cwd = c.cwd ?? prev?.cwd;
      epochs.bump(c.pid);
      t.upsert({
        pid: c.pid,
        startTicks: ticks,
        entityId: ids.of(c.pid, ticks),
        name: c.name,
        ...(c.executable !== undefined ? { executable: c.executable } : {}),
        ...(c.args !== undefined ? { args: c.args } : {}),
        ...(cwd !== undefined ? { cwd } : {}),
        ppid: c.ppid,
        ...(c.parentTicks !== undefined ? { parentStartTicks: c.parentTicks } : {}),
        ...(c.cgroupId !== undefined ? { cgroupId: c.cgroupId } : {}),
      });
      break;
    }
    case FORK: {
      if (ticks === undefined) break;
      const parent = c.parentTicks !== undefined ? t.get(c.ppid, c.parentTicks) : t.get(c.ppid);
      epochs.bump(c.pid);
      t.upsert({
        pid: c.pid,
        startTicks: ticks,
        entityId: ids.of(c.pid, ticks),
        name: parent?.name ?? c.parentName ?? c.name,
        ...(parent?.executable !== undefined ? { executable: parent.executable } : {}),
        ...(parent?.args !== undefined ? { args: parent.args } : {}),
        ...(parent?.cwd !== undefined ? { cwd: parent.cwd } : {}),
        ppid: c.ppid,
        ...(c.parentTicks !== undefined ? { parentStartTicks: c.parentTicks } : {}),
      });
      break;
    }
    default: {
      // Known present since the pid's last change: the lookup would only refresh recency.
      if (kind !== EXIT && c.present === epochs.get(c.pid)) return;
      const entry = ticks !== undefined ? t.get(c.pid, ticks) : t.get(c.pid);
      if (!entry && ticks !== undefined) {
        epochs.bump(c.pid);
        t.upsert({ pid: c.pid, startTicks: ticks, entityId: ids.of(c.pid, ticks), name: c.name, ppid: c.ppid, ...(c.parentTicks !== undefined ? { parentStartTicks: c.parentTicks } : {}) });
        c.present = epochs.get(c.pid);
      } else if (entry && !entry.exited && ticks !== undefined) c.present = epochs.get(c.pid);
    }
  }
  if (kind === EXIT && ticks !== undefined) {
    epochs.bump(c.pid);
    t.markExited(c.pid, ticks, exitMs);
  }
}

/**
 * The live sensor's enricher, recording every batch it completes into a
 * capture (`ebpf-sensor run --capture`): the canonical events as the rules
 * see them, in order, loss reports included. Recording is synchronous
 * encoding; compression and writing happen off the event loop
 * (CaptureWriter).
 */
export class RecordingEnricher extends Enricher {
  constructor(
    opts: EnricherOptions,
    private readonly capture: CaptureWriter,
  ) {
    super(opts);
  }

  override enrichBatch(events: SensorEvent[]): void {
    super.enrichBatch(events);
    this.capture.write(events);
  }
}

/** Replay inputs through enrich → rules → sinks; see the file comment. */
export async function replay(o: ReplayOptions): Promise<ReplaySummary> {
  return new Replayer(o).run();
}

/** The summary as text for a terminal: alerts by rule and severity, then the counts. */
export function formatSummary(s: ReplaySummary): string {
  const lines: string[] = [];
  const rate = s.seconds > 0 ? Math.round(s.records / s.seconds) : 0;
  lines.push(`replayed ${s.records} events from ${s.inputs} input${s.inputs === 1 ? '' : 's'} in ${s.seconds.toFixed(2)} s (${rate} events/s); wrote ${s.written}`);
  if (s.ancestry) {
    lines.push(`process tree: ${s.processes} process${s.processes === 1 ? '' : 'es'}; ancestry (oldest first):`);
    for (const n of s.ancestry) lines.push(`  ${n.pid >= 0 ? n.pid : '?'} ${n.executable ?? n.name ?? '?'} ${n.args ? JSON.stringify(n.args) : ''} [${n.entity_id}]`.trimEnd());
  }
  lines.push(`alerts: ${s.alerts}${s.alerts ? ` (${SEVERITIES.filter((v) => s.bySeverity[v]).map((v) => `${v} ${s.bySeverity[v]}`).join(', ')})` : ''}`);
  if (s.byRule.length) {
    const w = Math.max(4, ...s.byRule.map((r) => r.rule.length));
    lines.push(`  ${'rule'.padEnd(w)}  severity  count`);
    for (const r of s.byRule) lines.push(`  ${r.rule.padEnd(w)}  ${r.severity.padEnd(8)}  ${String(r.count).padStart(5)}`);
  }
  if (s.damaged || s.damage.length) lines.push(`damaged: ${s.damaged} records lost in ${s.damage.length} place${s.damage.length === 1 ? '' : 's'} (--skip-bad)`);
  for (const f of s.unclosed) lines.push(`warning: ${basename(f)} was never closed by its writer (crash?): its end may be missing`);
  return `${lines.join('\n')}\n`;
}
