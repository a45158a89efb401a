/**
 * outputs: the journal and the sinks behind it, built from the config.
 *
 * Takes: classified batches (`append`). Gives: each batch written once to the
 * durable journal, and every configured sink — stdout/file, Kafka,
 * Elasticsearch, syslog, Splunk HEC, OTLP — fed from it by its own Delivery (own cursor, own
 * batching by count/bytes/time, own retry loop). A slow or dead sink only
 * makes its own cursor lag; appending never waits for a sink. Positions a
 * sink will never get (journal retention while it lagged, damage) are passed
 * to `onLoss`, where the pipeline turns them into loss events.
 *
 * `ebpf-sensor run` and the integration tests' sensor-side runner build
 * their outputs with this same function.
 */
import { Journal, routeSection, type AppendResult, type EventSections, type JournalStats, type SectionLine } from '../journal/journal.js';
import type { AgentInfo, ClassifiedEvent, HostInfo, OutputFormat, ShippedEvent } from '../model/event.js';
import { ecsLine, ecsParts } from '../normalize/ecs/ecs-serializer.js';
import { toCef, CEF_DEFAULTS, type CefOptions } from '../normalize/cef/cef.js';
import { Delivery, type DeliveryLoss, type DeliveryStats } from '../sinks/delivery.js';
import { NdjsonSink } from '../sinks/ndjson-sink.js';
import type { KafkaSink } from '../sinks/kafka/kafka-sink.js';
import type { ElasticsearchSink } from '../sinks/elasticsearch/es-sink.js';
import { SensorError } from '../errors.js';
import { syslogSinkFromConfig, type SyslogSink } from '../sinks/syslog/syslog-sink.js';
import { HecSink } from '../sinks/hec/hec-sink.js';
import type { OtlpSink } from '../sinks/otlp/otlp-sink.js';
import type { BatchLimits } from '../sinks/delivery.js';
import type { DeferredSync, LineFormatter, Sink } from '../sinks/sink.js';
import type { SensorConfig } from '../config/config.js';
import { componentLogger, type Logger } from '../telemetry/logger.js';
import { SENSOR_VERSION } from './version.js';

/** Events per journal append (see Outputs.append). */
const APPEND_SLICE = 256;

export type SinkKind = 'stdout' | 'file' | 'kafka' | 'elasticsearch' | 'syslog' | 'splunk' | 'otlp';

/** A line formatter that can also give its line in parts for the journal (ECS: ecsParts). */
type PartsFormatter = LineFormatter & { readonly parts?: (ce: ClassifiedEvent) => SectionLine };

/** One line per event: ECS JSON or CEF with the configured vendor/product. */
export function lineFormatter(format: 'ecs' | 'cef', host: HostInfo, agent: AgentInfo, cef: CefOptions = CEF_DEFAULTS): LineFormatter {
  if (format === 'cef') {
    const opts: CefOptions = { vendor: cef.vendor, product: cef.product };
    return Object.assign((ce: ClassifiedEvent) => toCef(ce, host, agent, opts), { format: 'cef' as const });
  }
  const f: PartsFormatter = Object.assign((ce: ClassifiedEvent) => ecsLine(ce, host, agent), {
    format: 'ecs' as const,
    parts: (ce: ClassifiedEvent) => ecsParts(ce, host, agent),
  });
  return f;
}

/**
 * What the journal stores after each event (journal/payload.ts): its routing
 * facts and its line in every format a configured sink ships, each written
 * once here so delivery neither parses nor normalizes. The ECS line is given
 * in parts (never joined into one string). One sections object serves every
 * event: the journal writes it before asking for the next.
 */
export function journalSections(formats: ReadonlyMap<OutputFormat, LineFormatter>): (ce: ClassifiedEvent) => EventSections {
  const makers = [...formats].map(([, fmt]) => (fmt as PartsFormatter).parts ?? fmt);
  const lines: Array<[OutputFormat, SectionLine]> = [...formats.keys()].map((f) => [f, '']);
  const sec: EventSections = { route: '', lines };
  return (ce) => {
    sec.route = routeSection(ce);
    for (let i = 0; i < lines.length; i++) lines[i]![1] = makers[i]!(ce);
    return sec;
  };
}

/** Counts what passes through a sink's send(): events in (first attempts), out (confirmed), and the time of the last confirmation. */
class MeteredSink implements Sink {
  eventsIn = 0;
  eventsOut = 0;
  batchesOut = 0;
  lastSuccess = 0;
  private last: readonly ShippedEvent[] | undefined;

  constructor(readonly inner: Sink) {}

  get name(): string {
    return this.inner.name;
  }

  async send(batch: readonly ShippedEvent[]): Promise<void> {
    // Delivery retries a batch with the same array: count it in once.
    if (batch !== this.last) {
      this.last = batch;
      this.eventsIn += batch.length;
    }
    await this.inner.send(batch);
    this.eventsOut += batch.length;
    this.batchesOut++;
    this.lastSuccess = Date.now();
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  /** The inner sink's durable-position contract (Delivery syncs through it). */
  get deferredSync(): DeferredSync | undefined {
    return this.inner.deferredSync;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** One configured sink and its delivery. */
export interface SinkOutput {
  name: string;
  kind: SinkKind;
  sink: Sink;
  batch: BatchLimits;
  delivery?: Delivery;
  /** The line format it ships (journaled with each event). */
  format?: LineFormatter;
}

export interface SinkOutputStats {
  name: string;
  kind: SinkKind;
  /** Events handed to the sink (each batch once, however often it was retried). */
  eventsIn: number;
  /** Events the sink confirmed. */
  eventsOut: number;
  /** ms since the epoch of the last confirmed batch (0: none yet). */
  lastSuccess: number;
  delivery: DeliveryStats | undefined;
  /** Sink-specific counters (documents created, dead letters, messages…). */
  details: Record<string, number>;
}

export interface OutputsStats {
  journal: JournalStats;
  /** Append calls that failed (events not journaled; counted, logged). */
  appendErrors: number;
  /** Events in those failed appends. */
  appendLost: number;
  sinks: SinkOutputStats[];
}

export interface OutputsOptions {
  config: Readonly<SensorConfig>;
  host: HostInfo;
  agent: AgentInfo;
  log?: Logger;
  /** Sinks to use instead of the ones the config enables (tests, embedding). */
  sinks?: Array<{ sink: Sink; kind: SinkKind; batch?: BatchLimits }>;
}

/** The journal plus every configured sink; see the file comment. */
export class Outputs {
  readonly journal: Journal;
  readonly outputs: SinkOutput[];
  private readonly metered = new Map<string, MeteredSink>();
  private readonly log: Logger;
  private readonly cfg: Readonly<SensorConfig>;
  private started = false;
  private stopping: Promise<void> | undefined;
  private appendErrors = 0;
  private appendLost = 0;
  private lastAppendErrorLog = 0;
  private readonly sections: ((ce: ClassifiedEvent) => EventSections) | undefined;

  private constructor(o: OutputsOptions, journal: Journal, outputs: SinkOutput[]) {
    this.cfg = o.config;
    this.log = o.log ?? componentLogger('outputs');
    this.journal = journal;
    this.outputs = outputs;
    for (const out of outputs) {
      const m = new MeteredSink(out.sink);
      this.metered.set(out.name, m);
    }
    const formats = new Map<OutputFormat, LineFormatter>();
    for (const out of outputs) if (out.format?.format !== undefined) formats.set(out.format.format, out.format);
    this.sections = journalSections(formats);
  }

  /**
   * Open the journal and build the configured sinks (nothing is sent until
   * `start`; `loadConfiguredSinks(config)` must have been awaited). Throws ESENSOR_JOURNAL_IO when the journal cannot be opened and
   * ESENSOR_SINK_CONFIG / ESENSOR_OUTPUT for a sink configured wrongly.
   */
  static open(o: OutputsOptions): Outputs {
    const cfg = o.config;
    const log = o.log ?? componentLogger('outputs');
    const journal = Journal.open(cfg.journal.dir, {
      maxBytes: cfg.journal.maxBytes,
      maxAgeSeconds: cfg.journal.maxAgeSeconds,
      segmentBytes: Math.min(cfg.journal.segmentBytes, Math.floor(cfg.journal.maxBytes / 2)),
      fsyncIntervalMs: cfg.journal.fsyncIntervalMs,
    });
    const built: SinkOutput[] = [];
    try {
      const given = o.sinks?.map((s) => ({ name: s.sink.name, kind: s.kind, sink: s.sink, batch: s.batch ?? limits(undefined) }));
      for (const s of given ?? buildSinks(cfg, o.host, o.agent)) built.push(s);
    } catch (e) {
      for (const s of built) void s.sink.close().catch(() => undefined);
      void journal.close();
      throw e;
    }
    if (!built.length) log.warn('no output is enabled (output.enabled false, no kafka.brokers, no elasticsearch.node, syslog off, no splunk.url, no otlp.endpoint): events are only journaled');
    return new Outputs(o, journal, built);
  }

  /** Names of the configured sinks. */
  get names(): string[] {
    return this.outputs.map((s) => s.name);
  }

  /**
   * Start one delivery per sink. `onLoss` gets every range of positions a sink
   * will never receive (the pipeline journals a loss event for it).
   */
  start(onLoss: (loss: DeliveryLoss) => void): void {
    if (this.started) return;
    this.started = true;
    const retry = { initialMs: this.cfg.sinks.retry.initialMs, maxMs: Math.max(this.cfg.sinks.retry.maxMs, this.cfg.sinks.retry.initialMs), multiplier: 2, jitter: 0.2 };
    for (const out of this.outputs) {
      out.delivery = Delivery.start(this.journal, this.metered.get(out.name)!, {
        name: out.name,
        batch: out.batch,
        retry,
        startAt: this.cfg.sinks.startAt,
        commitIntervalMs: this.cfg.sinks.commitIntervalMs,
        onLoss,
      });
    }
    this.log.info(
      { sinks: this.outputs.map((s) => ({ name: s.name, batch: s.batch })), journal: this.journal.stats().dir, startAt: this.cfg.sinks.startAt },
      'delivering from the journal to %d sinks',
      this.outputs.length,
    );
  }

  /**
   * Journal a classified batch. Never waits for a sink. When the journal
   * cannot take it (disk full, I/O error) the events are counted as lost
   * (metrics, a rate-limited error log) and the pipeline goes on.
   */
  append(batch: readonly ClassifiedEvent[]): AppendResult | undefined {
    if (!batch.length) return undefined;
    let done = 0;
    let first: number | undefined;
    try {
      // A kernel chunk holds thousands of events: journaled in slices, so the
      // journal's encoding buffer (JSON + lines, ~7 kB an event) stays small.
      let r: AppendResult | undefined;
      for (; done < batch.length; done += APPEND_SLICE) {
        r = this.journal.append(done === 0 && batch.length <= APPEND_SLICE ? batch : batch.slice(done, done + APPEND_SLICE), this.sections);
        first ??= r.first;
      }
      return { first: first!, next: r!.next };
    } catch (e) {
      this.appendErrors++;
      this.appendLost += batch.length - done;
      const now = Date.now();
      if (now - this.lastAppendErrorLog > 10_000) {
        this.lastAppendErrorLog = now;
        this.log.error({ err: e, lost: this.appendLost, failedAppends: this.appendErrors }, 'cannot journal events: they are lost (counted in ebpf_sensor_journal_append_lost_events_total)');
      }
      return undefined;
    }
  }

  stats(): OutputsStats {
    return {
      journal: this.journal.stats(),
      appendErrors: this.appendErrors,
      appendLost: this.appendLost,
      sinks: this.outputs.map((out) => {
        const m = this.metered.get(out.name)!;
        return {
          name: out.name,
          kind: out.kind,
          eventsIn: m.eventsIn,
          eventsOut: m.eventsOut,
          lastSuccess: m.lastSuccess,
          delivery: out.delivery?.stats(),
          details: sinkDetails(out.sink),
        };
      }),
    };
  }

  /**
   * Make what is appended durable, let the sinks catch up for at most
   * `drainSeconds` (config sinks.drainSeconds), stop the deliveries (what is
   * left goes out after the next start), close the sinks and the journal.
   */
  close(drainSeconds = this.cfg.sinks.drainSeconds): Promise<void> {
    this.stopping ??= this.doClose(drainSeconds);
    return this.stopping;
  }

  private async doClose(drainSeconds: number): Promise<void> {
    try {
      if (this.journal.isOpen) await this.journal.sync();
    } catch (e) {
      this.log.error({ err: e }, 'final journal sync failed');
    }
    const deliveries = this.outputs.flatMap((o) => (o.delivery ? [o.delivery] : []));
    if (drainSeconds > 0 && deliveries.length) {
      const results = await Promise.all(deliveries.map((d) => d.drained(drainSeconds * 1000)));
      const behind = deliveries.filter((_, i) => !results[i]).map((d) => ({ sink: d.name, lag: d.lag().events }));
      if (behind.length) this.log.warn({ behind }, 'sinks still behind at shutdown: they resume from their cursors at the next start');
    }
    await Promise.all(deliveries.map((d) => d.stop()));
    for (const o of this.outputs) {
      try {
        await o.sink.close();
      } catch (e) {
        this.log.error({ err: e, sink: o.name }, 'closing sink %s failed', o.name);
      }
    }
    await this.journal.close();
  }
}

/** Numbers a sink keeps about itself, flattened for metrics and status. */
function sinkDetails(s: Sink): Record<string, number> {
  const out: Record<string, number> = {};
  const stats = (s as { stats?: unknown }).stats;
  if (stats && typeof stats === 'object') {
    for (const [k, v] of Object.entries(stats)) if (typeof v === 'number') out[k] = v;
  }
  if (s instanceof NdjsonSink) {
    out.written = s.written;
    out.rotations = s.rotations;
  }
  return out;
}

function limits(b: { count: number; bytes: number; ms: number } | undefined): BatchLimits {
  return b ? { count: b.count, bytes: b.bytes, ms: b.ms } : { count: 1000, bytes: 1 << 20, ms: 200 };
}

/**
 * kafkajs and the Elasticsearch client cost about 40 MB of RSS once loaded,
 * the OpenTelemetry exporter about 10 MB: their sinks are loaded only when the
 * config enables them (`loadConfiguredSinks`, awaited before `Outputs.open` /
 * `buildSinks`; test/unit/issue-14-lazy-modules.test.ts).
 */
let kafkaModule: typeof import('../sinks/kafka/kafka-sink.js') | undefined;
let esModule: typeof import('../sinks/elasticsearch/es-sink.js') | undefined;
let otlpModule: typeof import('../sinks/otlp/otlp-sink.js') | undefined;

/** Load the sink modules the config needs (Kafka, Elasticsearch, OTLP); the others are always there. */
export async function loadConfiguredSinks(cfg: Readonly<SensorConfig>): Promise<void> {
  if (cfg.kafka.brokers.length) kafkaModule ??= await import('../sinks/kafka/kafka-sink.js');
  if (cfg.elasticsearch.node !== undefined) esModule ??= await import('../sinks/elasticsearch/es-sink.js');
  if (cfg.otlp.endpoint !== undefined) otlpModule ??= await import('../sinks/otlp/otlp-sink.js');
}

function loaded<T>(m: T | undefined, what: string): T {
  if (!m) throw new SensorError('ESENSOR_INTERNAL', `the ${what} sink module is not loaded: await loadConfiguredSinks(config) first`);
  return m;
}

/** The sinks the config enables, in a fixed order (cursor names are stable). Needs `loadConfiguredSinks(cfg)` first. */
export function buildSinks(cfg: Readonly<SensorConfig>, host: HostInfo, agent: AgentInfo): SinkOutput[] {
  const out: SinkOutput[] = [];
  if (cfg.output.enabled) {
    const t = cfg.output.target;
    const file = t === 'stdout' ? undefined : t.slice('file:'.length);
    const format = lineFormatter(cfg.output.format, host, agent, cfg.cef);
    const sink = new NdjsonSink({
      target: file ?? 'stdout',
      format,
      ...(cfg.output.events === 'alerts' ? { only: 'suspicious' as const } : {}),
      maxBytes: cfg.output.maxFileBytes,
      keep: cfg.output.keepFiles,
      syncIntervalMs: cfg.output.syncIntervalMs,
    });
    out.push({ name: sink.name, kind: file ? 'file' : 'stdout', sink, batch: limits(cfg.output.batch), format });
  }
  if (cfg.kafka.brokers.length) {
    const format = lineFormatter(cfg.kafka.format, host, agent, cfg.cef);
    const sink: KafkaSink = new (loaded(kafkaModule, 'Kafka').KafkaSink)({
      config: cfg.kafka,
      format,
      hostName: host.name,
      log: componentLogger('kafka-sink'),
    });
    out.push({ name: sink.name, kind: 'kafka', sink, batch: limits(cfg.kafka.batch), format });
  }
  if (cfg.elasticsearch.node !== undefined) {
    const format = lineFormatter('ecs', host, agent);
    const sink: ElasticsearchSink = new (loaded(esModule, 'Elasticsearch').ElasticsearchSink)({
      config: cfg.elasticsearch,
      document: format,
      sensorVersion: SENSOR_VERSION,
      log: componentLogger('elasticsearch-sink'),
    });
    out.push({ name: sink.name, kind: 'elasticsearch', sink, batch: limits(cfg.elasticsearch.batch), format });
  }
  if (cfg.syslog.enabled) {
    const format = lineFormatter(cfg.syslog.format, host, agent, cfg.cef);
    const sink: SyslogSink = syslogSinkFromConfig(cfg.syslog, format, host.name);
    out.push({ name: sink.name, kind: 'syslog', sink, batch: limits(undefined), format });
  }
  if (cfg.splunk.url !== undefined) {
    const sink = new HecSink({
      config: cfg.splunk,
      document: lineFormatter(cfg.splunk.format, host, agent, cfg.cef),
      hostName: host.name,
      log: componentLogger('splunk-sink'),
    });
    out.push({ name: sink.name, kind: 'splunk', sink, batch: limits(cfg.splunk.batch) });
  }
  if (cfg.otlp.endpoint !== undefined) {
    const sink: OtlpSink = new (loaded(otlpModule, 'OTLP').OtlpSink)({
      config: cfg.otlp,
      document: (ce) => ecsLine(ce, host, agent),
      host,
      agent,
      log: componentLogger('otlp-sink'),
    });
    out.push({ name: sink.name, kind: 'otlp', sink, batch: limits(cfg.otlp.batch) });
  }
  return out;
}
