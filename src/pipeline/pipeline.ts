/**
 * pipeline: wires source → decode → enrich → rules → journal (→ sinks).
 *
 * One batch from the source is processed synchronously up to the append to
 * the journal, so a kernel chunk is free again as soon as the callback
 * returns; the sinks read the journal through their own deliveries
 * (pipeline/outputs.ts) and never hold the drain up. Counts are logged on a
 * timer, never per event. Kernel losses, and events a sink will never get
 * (journal retention while it lagged, damage), become loss events
 * (event.kind: metric) in the journal — a drop is never silent.
 */
import type { ClassifiedEvent, SensorEvent, HostInfo, Verdict } from '../model/event.js';
import type { Source, SourceBatch } from '../sources/source.js';
import { decodeChunk, type DecodeContext, type DecodeStats, isoFromNs } from '../decode/decode.js';
import type { Enricher } from '../enrich/enrich.js';
import type { Classifier } from '../rules/classifier.js';
import type { DeliveryLoss } from '../sinks/delivery.js';
import type { Logger } from '../telemetry/logger.js';

/** Records of a kernel chunk taken through decode, enrich, rules and the journal together. */
export const SLICE_RECORDS = 256;

export interface PipelineStats {
  batches: number;
  events: number;
  alerts: number;
  decodeErrors: number;
  lossEvents: number;
}

export interface LossReport {
  kernel: number;
  reader: number;
  perCpu: number[];
}

export interface PipelineOptions {
  source: Source;
  decode: DecodeContext;
  enricher: Enricher;
  classifier: Classifier;
  /** Where classified batches go: the journal, from which every sink reads (pipeline/outputs.ts Outputs). */
  output: EventOutput;
  log: Logger;
  host: HostInfo;
  /** Forward normal events too ('all') or alerts only. */
  events: 'all' | 'alerts';
  /** Called on a timer; returns cumulative loss counters (kernel source). */
  lossProbe?: () => LossReport;
  lossReportSeconds?: number;
  statsSeconds?: number;
  /** Observe every classified batch (tests, status). */
  onClassified?: (batch: readonly ClassifiedEvent[]) => void;
}

/** What the pipeline hands classified batches to (Outputs: the journal and its sinks). */
export interface EventOutput {
  /** Journal a batch; must not wait for any sink. */
  append(batch: readonly ClassifiedEvent[]): unknown;
  /** Drain (bounded), stop the deliveries, close the sinks and the journal. */
  close(): Promise<void>;
}

/**
 * The rules stage of one enriched event, live (Pipeline.process) and in
 * replay (replay.ts `handle`) alike: classify it, and keep it in `out` when it
 * goes out — every event, or with `events: 'alerts'` the alerts and the loss
 * reports (those always go: whoever reads only alerts must learn about gaps).
 */
export function classifyInto(classifier: Classifier, events: 'all' | 'alerts', event: SensorEvent, out: ClassifiedEvent[]): Verdict {
  const verdict = classifier.classify(event);
  if (verdict.classification === 'suspicious' || events === 'all' || event.ebpf.kind === 'loss') out.push({ event, verdict });
  return verdict;
}

export class Pipeline {
  readonly stats: PipelineStats = { batches: 0, events: 0, alerts: 0, decodeErrors: 0, lossEvents: 0 };
  private readonly decodeStats: DecodeStats = { records: 0, errors: 0 };
  private timers: NodeJS.Timeout[] = [];
  private lastLoss: LossReport = { kernel: 0, reader: 0, perCpu: [] };
  private classifier: Classifier;

  constructor(private readonly o: PipelineOptions) {
    this.classifier = o.classifier;
  }

  /** Swap the ruleset in place (reload); the next batch uses it. */
  setClassifier(c: Classifier): void {
    this.classifier = c;
  }

  async start(): Promise<void> {
    await this.o.source.start((b) => this.onBatch(b));
    const every = (s: number | undefined, fn: () => void): void => {
      if (!s) return;
      const t = setInterval(fn, s * 1000);
      t.unref();
      this.timers.push(t);
    };
    every(this.o.statsSeconds ?? 60, () => this.logStats());
    if (this.o.lossProbe) every(this.o.lossReportSeconds ?? 10, () => this.reportLoss());
  }

  onBatch(b: SourceBatch): void {
    this.stats.batches++;
    if (b.kind !== 'frames') {
      this.process(b.events);
      return;
    }
    // A chunk (thousands of records) goes through every stage a slice at a time: the events
    // of a slice are garbage once journaled, so they die young (cheap scavenges) instead of
    // the whole chunk's events and serializations surviving into the old generation (GC
    // time and peak RSS in storms, issue-14).
    const before = this.decodeStats.errors;
    for (let off = 0; off < b.used; ) {
      const events: SensorEvent[] = [];
      off = decodeChunk(b.chunk, b.used, this.o.decode, events, this.decodeStats, off, SLICE_RECORDS);
      this.process(events);
    }
    if (this.decodeStats.errors !== before) {
      this.stats.decodeErrors = this.decodeStats.errors;
      this.o.log.warn({ errors: this.decodeStats.errors, last: this.decodeStats.lastError }, 'malformed kernel records skipped');
    }
  }

  process(events: SensorEvent[]): void {
    if (!events.length) return;
    this.o.enricher.enrichBatch(events);
    const out: ClassifiedEvent[] = [];
    for (const event of events) {
      if (classifyInto(this.classifier, this.o.events, event, out).classification === 'suspicious') this.stats.alerts++;
    }
    this.stats.events += events.length;
    this.o.onClassified?.(out);
    if (!out.length) return;
    this.o.output.append(out);
  }

  /**
   * A sink will never get positions [from, to) of the journal: journal a loss
   * event saying so (every sink receives it, the one concerned included once
   * it catches up). The id is derived from the range, so a report repeated
   * after a restart is the same document.
   */
  reportDeliveryLoss(loss: DeliveryLoss): void {
    this.stats.lossEvents++;
    const ev = this.lossEvent(0, 0, [], `${this.o.decode.bootIdPrefix}gap-${loss.sink.replace(/[^A-Za-z0-9_.-]/g, '_')}-${loss.reason}-${loss.from}-${loss.to}`);
    ev.ebpf.loss = { kernel: 0, reader: 0, interval_s: 0, sink: loss.sink, reason: loss.reason, count: loss.count, from: loss.from, to: loss.to };
    this.process([ev]);
  }

  /** Turn new kernel/reader losses into a metric event. */
  reportLoss(): void {
    if (!this.o.lossProbe) return;
    const now = this.o.lossProbe();
    const dk = now.kernel - this.lastLoss.kernel;
    const dr = now.reader - this.lastLoss.reader;
    const perCpu = now.perCpu.map((v, i) => v - (this.lastLoss.perCpu[i] ?? 0));
    this.lastLoss = now;
    if (dk <= 0) {
      // A reader stall keeps its record (native/src/ring.c spills it and waits for a chunk):
      // nothing is lost, so no loss event — a loss event must mean a loss. The metric counts stalls.
      if (dr > 0) this.o.log.info({ readerStalls: dr }, 'ring reader waited for JavaScript; nothing lost');
      return;
    }
    this.stats.lossEvents++;
    this.o.log.warn({ kernelLost: dk, readerStalls: dr, perCpu }, 'events lost: ring buffer full');
    this.process([this.lossEvent(dk, dr, perCpu)]);
  }

  private lossEvent(kernel: number, reader: number, perCpu: number[], eventId?: string): SensorEvent {
    const nowNs = BigInt(Date.now()) * 1000000n;
    const seq = this.o.decode.sequence++;
    const pid = process.pid;
    // Node reads no saved uid: the saved ids are the effective ones, which is what they hold unless the process changed them.
    const id = { id: String(process.geteuid?.() ?? 0) };
    const real = { id: String(process.getuid?.() ?? 0) };
    return {
      '@timestamp': isoFromNs(nowNs),
      event: { id: eventId ?? `${this.o.decode.bootIdPrefix}loss${nowNs.toString(16)}`, sequence: seq, action: 'events-lost', outcome: 'failure' },
      process: {
        pid,
        entity_id: '',
        name: 'ebpf-sensor',
        executable: process.execPath,
        thread: { id: pid },
        user: id,
        group: { id: String(process.getegid?.() ?? 0) },
        real_user: real,
        real_group: { id: String(process.getgid?.() ?? 0) },
        saved_user: id,
        saved_group: { id: String(process.getegid?.() ?? 0) },
        parent: { pid: process.ppid },
      },
      user: id,
      group: { id: String(process.getegid?.() ?? 0) },
      ebpf: { kind: 'loss', syscall: 'none', loss: { kernel, reader, per_cpu: perCpu, interval_s: this.o.lossReportSeconds ?? 10 } },
    };
  }

  logStats(): void {
    this.o.log.info({ ...this.stats, host: this.o.host.name }, 'pipeline counts');
  }

  /** Stop the source, then close the output: sinks drain (bounded), stop, close; the journal closes. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    try {
      this.reportLoss();
    } catch (e) {
      this.o.log.warn({ err: e }, 'final loss report failed');
    }
    await this.o.source.stop();
    await this.o.output.close();
  }
}
