/**
 * telemetry/metrics: the sensor's Prometheus metrics (prom-client) and its
 * health report, both read from the stages' own counters when asked (a
 * scrape, a /health request) — nothing is counted on the hot path here.
 *
 * Takes: snapshot functions of the pipeline, the kernel source and the
 * outputs (journal + sinks). Gives: a prom-client Registry (text format for
 * GET /metrics) and `health()` (JSON for GET /health and `ebpf-sensor
 * status`). The shapes below are what this module reads; the stages' stats
 * objects satisfy them.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { redactUrlCredentials } from '../errors.js';

/** Pipeline counters (pipeline/pipeline.ts PipelineStats). */
/**
 * A send that has not returned for this long counts as an outage: clients
 * (kafkajs, the Elasticsearch client) retry inside one send for tens of
 * seconds, and health must show an outage within seconds.
 */
export const SEND_HUNG_MS = 5000;

function sinkDown(d: { state: string; sendingMs?: number } | undefined): boolean {
  return d !== undefined && (d.state === 'backoff' || (d.state === 'sending' && (d.sendingMs ?? 0) >= SEND_HUNG_MS));
}

export interface PipelineSnapshot {
  batches: number;
  events: number;
  alerts: number;
  decodeErrors: number;
  lossEvents: number;
}

/** Kernel source counters (KernelSource.counters() and ringStats()). */
export interface KernelSnapshot {
  counters: { emitted: number; lost: number; lostPerCpu: number[]; filtered: number; truncated: number };
  ring: { records: number; bytes: number; batches: number; stalls: number; freeChunks: number };
}

export interface SinkSnapshot {
  name: string;
  kind: string;
  eventsIn: number;
  eventsOut: number;
  lastSuccess: number;
  delivery:
    | {
        state: string;
        committed: number;
        failures: number;
        attempt: number;
        lost: { retention: number; damaged: number };
        lag: { events: number; seconds: number };
        lastError?: string;
        /** How long the send in progress has run (state 'sending'). */
        sendingMs?: number;
      }
    | undefined;
  details: Record<string, number>;
}

/** Journal and sinks (pipeline/outputs.ts OutputsStats). */
export interface OutputsSnapshot {
  journal: {
    dir: string;
    firstPosition: number;
    nextPosition: number;
    durablePosition: number;
    segments: number;
    bytes: number;
    appended: { records: number; bytes: number };
    fsyncs: number;
    fsyncErrors: number;
    deleted: { positions: number };
    damage: { regions: number };
  };
  appendErrors: number;
  appendLost: number;
  sinks: SinkSnapshot[];
}

export interface MetricsSources {
  pipeline?: () => PipelineSnapshot;
  kernel?: () => KernelSnapshot | undefined;
  outputs?: () => OutputsSnapshot;
  /** The pod-label client's counters (enrich/pod-api.ts PodApiStats), when kubernetes.podLabels is on. */
  podApi?: () => { refreshes: number; failures: number; pods: number; dropped: number };
  /** Version and start time for /health. */
  version: string;
  startedAt?: number;
}

export type HealthStatus = 'ok' | 'degraded';

export interface SinkHealth {
  name: string;
  kind: string;
  state: string;
  eventsIn: number;
  eventsOut: number;
  lagEvents: number;
  lagSeconds: number;
  retries: number;
  lost: { retention: number; damaged: number };
  deadLetters: number;
  lastSuccess: string | null;
  lastError?: string;
}

/** The /health document (and what `ebpf-sensor status` prints). */
export interface HealthReport {
  status: HealthStatus;
  /** Why the status is not ok. */
  reasons: string[];
  version: string;
  pid: number;
  startedAt: string;
  uptimeSeconds: number;
  rssBytes: number;
  pipeline?: PipelineSnapshot;
  kernel?: { events: number; lost: number; lostPerCpu: number[]; readerStalls: number; freeChunks: number };
  journal?: { dir: string; bytes: number; segments: number; firstPosition: number; nextPosition: number; durablePosition: number; deletedEvents: number; damagedRegions: number; appendLostEvents: number };
  sinks: SinkHealth[];
}

/** A sink lagging longer than this is reported as degraded. */
export const LAG_DEGRADED_SECONDS = 60;

/** Set a counter to an absolute total read from a stage (prom-client counters only go up). */
function setTotal(c: Counter<string>, labels: Record<string, string> | undefined, v: number): void {
  if (!(v > 0)) return;
  if (labels) c.inc(labels, v);
  else c.inc(v);
}

export class SensorMetrics {
  readonly registry = new Registry();
  private readonly started: number;

  constructor(
    private readonly src: MetricsSources,
    opts: { defaultMetrics?: boolean } = {},
  ) {
    this.started = src.startedAt ?? Date.now();
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const reg = [this.registry];
    const self = this;

    // ---- pipeline
    const pipelineCounter = (name: string, help: string, pick: (p: PipelineSnapshot) => number): void => {
      new Counter({
        name,
        help,
        registers: reg,
        collect() {
          this.reset();
          const p = self.src.pipeline?.();
          if (p) setTotal(this, undefined, pick(p));
        },
      });
    };
    pipelineCounter('ebpf_sensor_events_total', 'Events classified by the rules (telemetry and alerts).', (p) => p.events);
    pipelineCounter('ebpf_sensor_alerts_total', 'Events a rule matched (alerts).', (p) => p.alerts);
    pipelineCounter('ebpf_sensor_decode_errors_total', 'Malformed kernel records skipped.', (p) => p.decodeErrors);
    pipelineCounter('ebpf_sensor_loss_reports_total', 'Loss events emitted (kernel ring full, reader stalls, sink gaps).', (p) => p.lossEvents);

    // ---- kernel
    const kernelCounter = (name: string, help: string, pick: (k: KernelSnapshot) => number): void => {
      new Counter({
        name,
        help,
        registers: reg,
        collect() {
          this.reset();
          const k = self.kernelSnapshot();
          if (k) setTotal(this, undefined, pick(k));
        },
      });
    };
    kernelCounter('ebpf_sensor_kernel_events_total', 'Records the BPF programs submitted to the ring buffer.', (k) => k.counters.emitted);
    kernelCounter('ebpf_sensor_kernel_filtered_events_total', 'Events dropped in the kernel by the rules-derived filter (wanted: not lost).', (k) => k.counters.filtered);
    kernelCounter('ebpf_sensor_kernel_truncated_strings_total', 'Strings cut at a capture limit in the kernel.', (k) => k.counters.truncated);
    kernelCounter('ebpf_sensor_reader_records_total', 'Records the native reader drained from the ring buffer.', (k) => k.ring.records);
    kernelCounter('ebpf_sensor_reader_stalls_total', 'Times the reader had no free chunk (JavaScript behind).', (k) => k.ring.stalls);
    new Counter({
      name: 'ebpf_sensor_kernel_lost_events_total',
      help: 'Records lost in the kernel because the ring buffer was full, per CPU.',
      labelNames: ['cpu'],
      registers: reg,
      collect() {
        this.reset();
        const k = self.kernelSnapshot();
        if (!k) return;
        const per = k.counters.lostPerCpu;
        if (!per.length) setTotal(this, { cpu: 'all' }, k.counters.lost);
        per.forEach((v, cpu) => {
          this.inc({ cpu: String(cpu) }, 0);
          setTotal(this, { cpu: String(cpu) }, v);
        });
      },
    });
    new Gauge({
      name: 'ebpf_sensor_reader_free_chunks',
      help: 'Reader chunks free for the kernel side (0: JavaScript is behind).',
      registers: reg,
      collect() {
        const k = self.kernelSnapshot();
        if (k) this.set(k.ring.freeChunks);
      },
    });

    // ---- journal
    const journalGauge = (name: string, help: string, pick: (o: OutputsSnapshot) => number): void => {
      new Gauge({
        name,
        help,
        registers: reg,
        collect() {
          const o = self.src.outputs?.();
          if (o) this.set(pick(o));
        },
      });
    };
    const journalCounter = (name: string, help: string, pick: (o: OutputsSnapshot) => number): void => {
      new Counter({
        name,
        help,
        registers: reg,
        collect() {
          this.reset();
          const o = self.src.outputs?.();
          if (o) setTotal(this, undefined, pick(o));
        },
      });
    };
    journalGauge('ebpf_sensor_journal_bytes', 'Size of the journal on disk.', (o) => o.journal.bytes);
    journalGauge('ebpf_sensor_journal_segments', 'Segment files in the journal.', (o) => o.journal.segments);
    journalGauge('ebpf_sensor_journal_first_position', 'Oldest position still stored.', (o) => o.journal.firstPosition);
    journalGauge('ebpf_sensor_journal_next_position', 'Position the next event gets.', (o) => o.journal.nextPosition);
    journalGauge('ebpf_sensor_journal_durable_position', 'Events below this position are on disk (fdatasync).', (o) => o.journal.durablePosition);
    journalCounter('ebpf_sensor_journal_appended_events_total', 'Events appended to the journal since start.', (o) => o.journal.appended.records);
    journalCounter('ebpf_sensor_journal_appended_bytes_total', 'Bytes appended to the journal since start.', (o) => o.journal.appended.bytes);
    journalCounter('ebpf_sensor_journal_fsyncs_total', 'fdatasync calls on the journal.', (o) => o.journal.fsyncs);
    journalCounter('ebpf_sensor_journal_fsync_errors_total', 'Failed fdatasync calls on the journal.', (o) => o.journal.fsyncErrors);
    journalCounter('ebpf_sensor_journal_deleted_events_total', 'Events deleted by the journal size/age bound (read or not).', (o) => o.journal.deleted.positions);
    journalCounter('ebpf_sensor_journal_damaged_regions_total', 'Damaged regions found in journal segments.', (o) => o.journal.damage.regions);
    journalCounter('ebpf_sensor_journal_append_errors_total', 'Batches the journal could not take.', (o) => o.appendErrors);
    journalCounter('ebpf_sensor_journal_append_lost_events_total', 'Events lost because the journal could not take them.', (o) => o.appendLost);

    // ---- sinks
    const labels = (s: SinkSnapshot): Record<string, string> => ({ sink: s.name, kind: s.kind });
    const sinkCounter = (name: string, help: string, pick: (s: SinkSnapshot) => number): void => {
      new Counter({
        name,
        help,
        labelNames: ['sink', 'kind'],
        registers: reg,
        collect() {
          this.reset();
          for (const s of self.src.outputs?.().sinks ?? []) {
            this.inc(labels(s), 0);
            setTotal(this, labels(s), pick(s));
          }
        },
      });
    };
    const sinkGauge = (name: string, help: string, pick: (s: SinkSnapshot) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['sink', 'kind'],
        registers: reg,
        collect() {
          this.reset();
          for (const s of self.src.outputs?.().sinks ?? []) this.set(labels(s), pick(s));
        },
      });
    };
    sinkCounter('ebpf_sensor_sink_events_in_total', 'Events handed to the sink (a retried batch counts once).', (s) => s.eventsIn);
    sinkCounter('ebpf_sensor_sink_events_out_total', 'Events the sink confirmed (its cursor moved past them).', (s) => s.eventsOut);
    sinkCounter('ebpf_sensor_sink_retries_total', 'Failed sends (and failed fsyncs of the file output), each retried with backoff.', (s) => s.delivery?.failures ?? 0);
    sinkCounter('ebpf_sensor_sink_dead_letters_total', 'Documents the destination refused for good, written to the dead-letter file.', (s) => s.details.deadLetters ?? 0);
    new Counter({
      name: 'ebpf_sensor_sink_lost_events_total',
      help: 'Events this sink will never get: deleted by journal retention while it lagged, or unreadable (damage).',
      labelNames: ['sink', 'kind', 'reason'],
      registers: reg,
      collect() {
        this.reset();
        for (const s of self.src.outputs?.().sinks ?? []) {
          for (const reason of ['retention', 'damaged'] as const) {
            this.inc({ ...labels(s), reason }, 0);
            setTotal(this, { ...labels(s), reason }, s.delivery?.lost[reason] ?? 0);
          }
        }
      },
    });
    sinkGauge('ebpf_sensor_sink_lag_events', 'Journaled events the sink has not confirmed yet (cursor lag).', (s) => s.delivery?.lag.events ?? 0);
    sinkGauge('ebpf_sensor_sink_lag_seconds', 'Age of the oldest event the sink has not confirmed (0 when caught up).', (s) => s.delivery?.lag.seconds ?? 0);
    sinkGauge('ebpf_sensor_sink_committed_position', 'The sink cursor: journal position up to which it confirmed everything.', (s) => s.delivery?.committed ?? 0);
    sinkGauge('ebpf_sensor_sink_up', `1 while the sink takes batches, 0 while its sends fail (backoff) or one send has hung for ${SEND_HUNG_MS / 1000} s (client retries).`, (s) => (sinkDown(s.delivery) ? 0 : 1));

    // ---- pod labels (kubernetes.podLabels): counts only, never the token or a response
    if (this.src.podApi) {
      const pod = this.src.podApi;
      new Counter({
        name: 'ebpf_sensor_k8s_pod_lists_total',
        help: 'Lists of this node\'s pods asked of the Kubernetes API server, by result.',
        labelNames: ['result'],
        registers: reg,
        collect() {
          this.reset();
          const p = pod();
          this.inc({ result: 'ok' }, 0);
          this.inc({ result: 'error' }, 0);
          setTotal(this, { result: 'ok' }, p.refreshes);
          setTotal(this, { result: 'error' }, p.failures);
        },
      });
      new Gauge({
        name: 'ebpf_sensor_k8s_pods',
        help: 'Pods of this node in the pod-label cache (dropped: past kubernetes.maxPods).',
        labelNames: ['state'],
        registers: reg,
        collect() {
          this.reset();
          const p = pod();
          this.set({ state: 'cached' }, p.pods);
          this.set({ state: 'dropped' }, p.dropped);
        },
      });
    }

    new Gauge({
      name: 'ebpf_sensor_info',
      help: 'Constant 1, labelled with the sensor version.',
      labelNames: ['version'],
      registers: reg,
      collect() {
        this.reset();
        this.set({ version: self.src.version }, 1);
      },
    });
  }

  /** The Prometheus text exposition. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The health report: status and the numbers behind it. */
  health(): HealthReport {
    const reasons: string[] = [];
    let status: HealthStatus = 'ok';
    const degrade = (why: string): void => {
      reasons.push(why);
      if (status === 'ok') status = 'degraded';
    };
    const out = this.src.outputs?.();
    const k = this.kernelSnapshot();
    const sinks: SinkHealth[] = (out?.sinks ?? []).map((s) => {
      const d = s.delivery;
      const h: SinkHealth = {
        name: s.name,
        kind: s.kind,
        state: d?.state ?? 'not started',
        eventsIn: s.eventsIn,
        eventsOut: s.eventsOut,
        lagEvents: d?.lag.events ?? 0,
        lagSeconds: Math.round((d?.lag.seconds ?? 0) * 1000) / 1000,
        retries: d?.failures ?? 0,
        lost: { retention: d?.lost.retention ?? 0, damaged: d?.lost.damaged ?? 0 },
        deadLetters: s.details.deadLetters ?? 0,
        lastSuccess: s.lastSuccess ? new Date(s.lastSuccess).toISOString() : null,
      };
      // Errors of client libraries can name a URL with its credentials: /health is readable by any local user.
      const lastError = d?.lastError === undefined ? undefined : redactUrlCredentials(d.lastError);
      if (lastError !== undefined) h.lastError = lastError;
      if (d && d.state === 'sending' && (d.sendingMs ?? 0) >= SEND_HUNG_MS) degrade(`sink ${s.name} has been sending one batch for ${Math.round((d.sendingMs ?? 0) / 1000)} s (the server does not answer)`);
      else if (d?.state === 'backoff' || (d?.attempt ?? 0) > 0) degrade(`sink ${s.name} is failing (${d?.attempt} attempts): ${lastError ?? 'unknown error'}`);
      else if (h.lagSeconds > LAG_DEGRADED_SECONDS) degrade(`sink ${s.name} lags ${h.lagSeconds} s (${h.lagEvents} events)`);
      return h;
    });
    if (out && out.appendLost > 0) degrade(`${out.appendLost} events could not be journaled`);
    const report: HealthReport = {
      status,
      reasons,
      version: this.src.version,
      pid: process.pid,
      startedAt: new Date(this.started).toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.started) / 1000),
      rssBytes: process.memoryUsage.rss(),
      sinks,
    };
    const p = this.src.pipeline?.();
    if (p) report.pipeline = { batches: p.batches, events: p.events, alerts: p.alerts, decodeErrors: p.decodeErrors, lossEvents: p.lossEvents };
    if (k) report.kernel = { events: k.counters.emitted, lost: k.counters.lost, lostPerCpu: k.counters.lostPerCpu, readerStalls: k.ring.stalls, freeChunks: k.ring.freeChunks };
    if (out) {
      const j = out.journal;
      report.journal = {
        dir: j.dir,
        bytes: j.bytes,
        segments: j.segments,
        firstPosition: j.firstPosition,
        nextPosition: j.nextPosition,
        durablePosition: j.durablePosition,
        deletedEvents: j.deleted.positions,
        damagedRegions: j.damage.regions,
        appendLostEvents: out.appendLost,
      };
    }
    return report;
  }

  private kernelSnapshot(): KernelSnapshot | undefined {
    try {
      return this.src.kernel?.();
    } catch {
      // The source is stopping (maps closed): no kernel numbers for this scrape.
      return undefined;
    }
  }
}
