/**
 * sinks/otlp: classified events → OpenTelemetry logs (OTLP/HTTP protobuf),
 * through the official exporter (@opentelemetry/exporter-logs-otlp-proto).
 *
 * Takes: batches of classified events (from the journal, through Delivery)
 * and a function giving each one's ECS document as JSON. Gives: one export
 * request per batch, one log record per event: time from the nanosecond
 * @timestamp, severity from the document's event.severity, attributes mapped to semantic
 * conventions (otlp-map.ts), the whole ECS document as the body (a map, or
 * its JSON text with `otlp.body: json`);
 * host and agent as resource attributes. `send` resolves when the collector
 * answered success. The exporter retries 429/502/503/504 itself within
 * `timeoutMs`; what still fails rejects `send`, and Delivery retries the
 * batch with its backoff. A 400 (the collector cannot parse the records)
 * sends the batch to the dead-letter file; 401/403 are retried (credentials
 * fixed, nothing lost).
 */
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { SensorError } from '../../errors.js';
import type { AgentInfo, ClassifiedEvent, HostInfo } from '../../model/event.js';
import { componentLogger, type Logger } from '../../telemetry/logger.js';
import { DeadLetterFile } from '../dead-letter.js';
import { isAlert, routeOf, type Sink, type SinkOptions } from '../sink.js';
import { hrTimeOf, logAttributes, logSeverity, resourceAttributes } from './otlp-map.js';
import { readConfigFile, readTlsFiles } from '../config-files.js';
import type { SensorConfig } from '../../config/config.js';

/** The `otlp` section of the configuration (schemas/config.schema.json). */
export type OtlpSinkConfig = SensorConfig['otlp'];

export interface OtlpSinkOptions extends SinkOptions<OtlpSinkConfig> {
  /** The event's ECS document as JSON: the only per-event conversion of this sink. */
  document: (ce: ClassifiedEvent) => string;
  host: HostInfo;
  agent: AgentInfo;
  /** Where records refused for good go (default /var/lib/ebpf-sensor/dead-letter/otlp.ndjson). */
  deadLetterPath?: string;
}

export interface OtlpSinkStats {
  /** Log records the collector took. */
  exported: number;
  /** Export requests answered success. */
  requests: number;
  /** Records of batches refused for good (HTTP 400), written to the dead-letter file. */
  deadLetters: number;
  filtered: number;
  failures: number;
}

/** The logs URL: the endpoint, with /v1/logs added when it has no path. */
export function logsUrl(endpoint: string): string {
  const u = new URL(endpoint);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/v1/logs';
  return u.toString();
}

export class OtlpSink implements Sink {
  readonly name: string;
  readonly stats: OtlpSinkStats = { exported: 0, requests: 0, deadLetters: 0, filtered: 0, failures: 0 };
  private readonly cfg: OtlpSinkConfig;
  private readonly log: Logger;
  private readonly exporter: OTLPLogExporter;
  private readonly resource: Resource;
  private readonly scope: { name: string; version: string };
  private readonly deadLetter: DeadLetterFile;
  private closed = false;

  constructor(private readonly o: OtlpSinkOptions) {
    this.cfg = o.config;
    this.name = o.name ?? 'otlp';
    this.log = o.log ?? componentLogger('otlp-sink');
    if (!this.cfg.endpoint) throw new SensorError('ESENSOR_SINK_CONFIG', 'otlp.endpoint is not set', { field: 'otlp.endpoint' });
    const url = logsUrl(this.cfg.endpoint);
    const headers: Record<string, string> = { ...this.cfg.headers };
    if (this.cfg.headersFile !== undefined) {
      let extra: unknown;
      try {
        extra = JSON.parse(readConfigFile(this.cfg.headersFile, 'otlp.headersFile').toString('utf8'));
      } catch (e) {
        if (e instanceof SensorError) throw e;
        throw new SensorError('ESENSOR_SINK_CONFIG', `otlp.headersFile ${this.cfg.headersFile} is not a JSON object of strings`, { file: this.cfg.headersFile, field: 'otlp.headersFile' });
      }
      if (!extra || typeof extra !== 'object' || Object.values(extra).some((v) => typeof v !== 'string')) {
        throw new SensorError('ESENSOR_SINK_CONFIG', `otlp.headersFile ${this.cfg.headersFile} is not a JSON object of strings`, { file: this.cfg.headersFile, field: 'otlp.headersFile' });
      }
      Object.assign(headers, extra);
    }
    const https = url.startsWith('https:');
    const agentOptions = {
      keepAlive: true,
      ...(https ? readTlsFiles(this.cfg.tls, 'otlp.tls') : {}),
    };
    this.exporter = new OTLPLogExporter({
      url,
      headers,
      compression: this.cfg.compression === 'gzip' ? ('gzip' as never) : ('none' as never),
      timeoutMillis: this.cfg.timeoutMs,
      httpAgentOptions: agentOptions,
    });
    this.resource = resourceFromAttributes(resourceAttributes(o.host, o.agent));
    this.scope = { name: o.agent.type, version: o.agent.version };
    const dl = this.cfg.deadLetter ?? { path: o.deadLetterPath ?? '/var/lib/ebpf-sensor/dead-letter/otlp.ndjson', maxBytes: 100 << 20, keepFiles: 5 };
    this.deadLetter = new DeadLetterFile({ path: dl.path, maxBytes: dl.maxBytes, keep: dl.keepFiles, sink: this.name });
    this.log.info({ url, compression: this.cfg.compression, headers: Object.keys(headers), tls: https }, 'otlp sink: OTLP/HTTP protobuf logs');
  }

  /** One log record (the per-event conversion: document → parsed body → attributes). */
  record(ce: ClassifiedEvent, observed: [number, number]): ReadableLogRecord {
    const json = this.o.document(ce);
    const doc = JSON.parse(json) as Record<string, unknown>;
    const sev = logSeverity(doc);
    return {
      hrTime: hrTimeOf(ce.event['@timestamp']),
      hrTimeObserved: observed,
      severityNumber: sev.number,
      severityText: sev.text,
      body: this.cfg.body === 'json' ? json : (doc as never),
      resource: this.resource,
      instrumentationScope: this.scope,
      attributes: logAttributes(doc),
      droppedAttributesCount: 0,
    };
  }

  async send(batch: readonly ClassifiedEvent[]): Promise<void> {
    if (this.closed) throw new SensorError('ESENSOR_INTERNAL', 'otlp sink used after close');
    const now = Date.now();
    const observed: [number, number] = [Math.floor(now / 1000), (now % 1000) * 1e6];
    const records: ReadableLogRecord[] = [];
    for (const ce of batch) {
      const alert = isAlert(routeOf(ce));
      if (!alert && this.cfg.events === 'alerts') {
        this.stats.filtered++;
        continue;
      }
      records.push(this.record(ce, observed));
    }
    if (!records.length) return;
    const result = await new Promise<{ code: number; error?: Error }>((res) => this.exporter.export(records, res));
    if (result.code === 0) {
      this.stats.requests++;
      this.stats.exported += records.length;
      return;
    }
    this.stats.failures++;
    const status = (result.error as { code?: number } | undefined)?.code;
    const msg = result.error?.message ?? 'export failed';
    if (status === 400) {
      this.deadLetter.write(records.map((r) => ({ target: 'otlp', id: String((r.attributes['event.id'] as string) ?? ''), status, reason: msg, document: r.body })));
      this.stats.deadLetters += records.length;
      this.log.warn({ count: records.length, file: this.deadLetter.path, reason: msg }, 'the collector refused a batch for good (HTTP 400): written to the dead-letter file');
      return;
    }
    if (status === 401 || status === 403) {
      throw new SensorError('ESENSOR_SINK_CONFIG', `the OTLP endpoint refused the credentials (HTTP ${status}): check otlp.headers; events wait in the journal`, { field: 'otlp.headers', retriable: true, cause: result.error });
    }
    throw new SensorError('ESENSOR_SINK_UNAVAILABLE', `OTLP export failed${status ? ` (HTTP ${status})` : ''}: ${msg}`, { retriable: true, cause: result.error });
  }

  async flush(): Promise<void> {
    await this.exporter.forceFlush();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.deadLetter.close();
    await this.exporter.shutdown().catch(() => undefined);
  }
}
