/**
 * sinks/elasticsearch: classified events → Elasticsearch data streams.
 *
 * Takes: batches of classified events (from the journal, through Delivery)
 * and a function giving each one's ECS document as JSON. Gives: one bulk
 * `create` per event with `_id` = event.id — alerts and loss reports into the
 * alerts data stream, telemetry into the events one — so a batch sent twice
 * (a retry, a restart after a crash) never makes a duplicate: the second
 * `create` answers 409, which counts as delivered. Per document:
 *
 * - 201, 409: delivered;
 * - 429 and 5xx: retried with backoff inside `send` (a few rounds), then
 *   `send` rejects and Delivery retries the batch;
 * - any other refusal (400 mapping errors…): written with its reason to the
 *   dead-letter file, never retried, and the batch goes on.
 *
 * A request that fails as a whole (connection refused, timeout, HTTP 429 or
 * 5xx) rejects `send` (retriable). On first use the sink negotiates the
 * server's version (es-client.ts: the 9.x client talks to 8.x servers too)
 * and installs the ECS index templates (es-templates.ts). The client's
 * diagnostics are bridged into pino (es-log.ts).
 */
import { errors, type Client } from '@elastic/elasticsearch';
import { redactUrlCredentials, SensorError } from '../../errors.js';
import type { ClassifiedEvent, ShippedEvent } from '../../model/event.js';
import { componentLogger, type Logger } from '../../telemetry/logger.js';
import { isAlert, routeOf, type Sink, type SinkOptions } from '../sink.js';
import { createElasticsearchClient, type ClientOptions, type ElasticsearchServerVersion } from './es-client.js';
import { bridgeClientLogs, type ClientLogBridge } from './es-log.js';
import { buildTemplates, installTemplates, type InstallResult } from './es-templates.js';
import { DeadLetterFile, type DeadLetter } from '../dead-letter.js';
import { readSecretFile, readTlsFiles } from '../config-files.js';
import type { SensorConfig } from '../../config/config.js';

/** The `elasticsearch` section of the configuration (schemas/config.schema.json). */
export type ElasticsearchSinkConfig = SensorConfig['elasticsearch'];

export interface ElasticsearchSinkOptions extends SinkOptions<ElasticsearchSinkConfig> {
  /** The ECS document of an event, as JSON (used when the journal does not hold it already). */
  document: (ce: ClassifiedEvent) => string;
  sensorVersion: string;
  /** Rounds of per-document retries (429/5xx) inside one send before it rejects (default 4). */
  itemRetries?: number;
  /** First backoff of those retries, ms (default 200, doubling). */
  itemRetryMs?: number;
}

export interface ElasticsearchSinkStats {
  /** Documents created. */
  created: number;
  /** Documents that already existed (409 on create: sent before, e.g. by a batch retried after a crash). */
  duplicates: number;
  /** Documents refused for good and written to the dead-letter file. */
  deadLetters: number;
  /** Documents retried after a 429 or 5xx answer. */
  retriedDocuments: number;
  /** Events skipped by `events: alerts`. */
  filtered: number;
  /** Bulk requests answered. */
  requests: number;
  /** Failed sends (each one is retried by delivery). */
  failures: number;
}

/** What to do with each document of a bulk answer. */
export interface BulkOutcome {
  created: number;
  duplicates: number;
  /** Indexes (into the request's documents) to send again. */
  retry: number[];
  /** Indexes refused for good, with the answer. */
  rejected: Array<{ index: number; status: number; reason: unknown }>;
  /**
   * Indexes refused for a reason of the cluster's setup, not of the
   * document (401/403: privileges, 404: no index or data stream): the
   * batch fails and is retried once someone fixes it; dead-lettering them
   * would turn a permissions mistake into lost events.
   */
  blocked: Array<{ index: number; status: number; reason: unknown }>;
}

type BulkItem = Partial<Record<string, { status?: number; error?: unknown }>>;

/** Sort a bulk response's items: created, already there, retry (429/5xx), rejected. */
export function classifyBulkItems(items: readonly BulkItem[], count: number): BulkOutcome {
  const out: BulkOutcome = { created: 0, duplicates: 0, retry: [], rejected: [], blocked: [] };
  if (items.length !== count) {
    throw new SensorError('ESENSOR_SINK_UNAVAILABLE', `Elasticsearch answered ${items.length} bulk items for ${count} documents`, { retriable: true });
  }
  for (let i = 0; i < count; i++) {
    const it = items[i]!;
    const r = it.create ?? it.index ?? Object.values(it)[0] ?? {};
    const status = r.status ?? 0;
    if (status >= 200 && status < 300) out.created++;
    else if (status === 409) out.duplicates++;
    else if (status === 429 || status >= 500 || status === 0) out.retry.push(i);
    else if (status === 401 || status === 403 || status === 404) out.blocked.push({ index: i, status, reason: r.error ?? null });
    else out.rejected.push({ index: i, status, reason: r.error ?? null });
  }
  return out;
}

interface Doc {
  target: string;
  id: string;
  /** The bulk action line, with its LF. */
  action: string;
  /** The document (the ECS line journaled with the event, or formatted now). */
  json: Buffer | string;
}

/** Client options for a config (auth and TLS files read here). */
export function elasticsearchClientOptions(cfg: ElasticsearchSinkConfig): ClientOptions {
  if (!cfg.node) throw new SensorError('ESENSOR_SINK_CONFIG', 'elasticsearch.node is not set', { field: 'elasticsearch.node' });
  const o: ClientOptions = { node: cfg.node, requestTimeout: cfg.requestTimeoutMs, maxRetries: 2, sniffOnStart: false };
  const a = cfg.auth;
  if (a) {
    const apiKey = a.apiKey ?? (a.apiKeyFile !== undefined ? readSecretFile(a.apiKeyFile, 'elasticsearch.auth.apiKeyFile') : undefined);
    if (apiKey !== undefined) {
      if (a.username !== undefined) throw new SensorError('ESENSOR_SINK_CONFIG', 'elasticsearch.auth: give an API key or a username, not both', { field: 'elasticsearch.auth' });
      o.auth = { apiKey };
    } else if (a.username !== undefined) {
      const password = a.password ?? (a.passwordFile !== undefined ? readSecretFile(a.passwordFile, 'elasticsearch.auth.passwordFile') : undefined);
      if (password === undefined) throw new SensorError('ESENSOR_SINK_CONFIG', 'elasticsearch.auth.username needs password or passwordFile', { field: 'elasticsearch.auth.password' });
      o.auth = { username: a.username, password };
    }
  }
  const tls: NonNullable<ClientOptions['tls']> = readTlsFiles(cfg.tls, 'elasticsearch.tls');
  if (cfg.node.startsWith('https:') || tls.ca || tls.cert) o.tls = tls;
  return o;
}

const NL = Buffer.from('\n');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

export class ElasticsearchSink implements Sink {
  readonly name: string;
  readonly stats: ElasticsearchSinkStats = { created: 0, duplicates: 0, deadLetters: 0, retriedDocuments: 0, filtered: 0, requests: 0, failures: 0 };
  private readonly cfg: ElasticsearchSinkConfig;
  private readonly log: Logger;
  private readonly clientOptions: ClientOptions;
  private readonly deadLetter: DeadLetterFile;
  private client: Client | undefined;
  private bridge: ClientLogBridge | undefined;
  private connecting: Promise<Client> | undefined;
  private closed = false;
  /** The server version, once connected. */
  server: ElasticsearchServerVersion | undefined;
  /** What the template installer did, once connected. */
  templates: InstallResult | undefined;

  constructor(private readonly o: ElasticsearchSinkOptions) {
    this.cfg = o.config;
    this.name = o.name ?? 'elasticsearch';
    this.log = o.log ?? componentLogger('elasticsearch-sink');
    this.clientOptions = elasticsearchClientOptions(this.cfg);
    this.deadLetter = new DeadLetterFile({ path: this.cfg.deadLetter.path, maxBytes: this.cfg.deadLetter.maxBytes, keep: this.cfg.deadLetter.keepFiles, sink: this.name });
    this.log.info(
      {
        node: redactUrlCredentials(this.cfg.node ?? ''),
        dataStreams: this.cfg.dataStreams,
        auth: this.clientOptions.auth ? ('apiKey' in this.clientOptions.auth ? 'api key' : 'basic') : 'none',
        tls: this.clientOptions.tls !== undefined,
        deadLetter: this.cfg.deadLetter.path,
      },
      'elasticsearch sink: bulk create with _id = event.id',
    );
  }

  get deadLetterPath(): string {
    return this.deadLetter.path;
  }

  async send(batch: readonly ShippedEvent[]): Promise<void> {
    if (this.closed) throw new SensorError('ESENSOR_INTERNAL', 'elasticsearch sink used after close');
    const { alerts, events } = this.cfg.dataStreams;
    let docs: Doc[] = [];
    const alertAction = `{"create":{"_index":${JSON.stringify(alerts)},"_id":`;
    const eventAction = `{"create":{"_index":${JSON.stringify(events)},"_id":`;
    for (const ce of batch) {
      const r = routeOf(ce);
      const alert = isAlert(r);
      if (!alert && this.cfg.events === 'alerts') {
        this.stats.filtered++;
        continue;
      }
      const id = r.id;
      docs.push({
        target: alert ? alerts : events,
        id,
        action: `${alert ? alertAction : eventAction}${JSON.stringify(id)}}}\n`,
        json: ce.shipped?.('ecs') ?? this.o.document(ce),
      });
    }
    if (!docs.length) return;
    try {
      const client = await this.connect();
      const rounds = this.o.itemRetries ?? 4;
      for (let round = 0; ; round++) {
        const outcome = await this.bulk(client, docs);
        this.stats.created += outcome.created;
        this.stats.duplicates += outcome.duplicates;
        if (outcome.rejected.length) this.reject(docs, outcome.rejected);
        if (outcome.blocked.length) {
          // The whole batch is sent again later (documents created now come back as 409: delivered).
          const b = outcome.blocked[0]!;
          throw new SensorError(
            'ESENSOR_SINK_CONFIG',
            `Elasticsearch refused ${outcome.blocked.length} documents with HTTP ${b.status} (${JSON.stringify(b.reason).slice(0, 200)}): check elasticsearch.auth, the user's create_doc privilege and the data streams; they stay in the journal and are retried`,
            { field: 'elasticsearch', retriable: true },
          );
        }
        if (!outcome.retry.length) return;
        this.stats.retriedDocuments += outcome.retry.length;
        if (round >= rounds) {
          throw new SensorError('ESENSOR_SINK_UNAVAILABLE', `Elasticsearch kept refusing ${outcome.retry.length} documents with 429/5xx after ${round + 1} rounds`, { retriable: true });
        }
        docs = outcome.retry.map((i) => docs[i]!);
        await sleep((this.o.itemRetryMs ?? 200) * 2 ** round);
      }
    } catch (e) {
      this.stats.failures++;
      throw this.wrap(e);
    }
  }

  async flush(): Promise<void> {
    // Every send waits for the bulk answers: nothing is buffered here.
  }

  async close(): Promise<void> {
    this.closed = true;
    this.deadLetter.close();
    this.bridge?.detach();
    const c = this.client;
    this.client = undefined;
    if (c) await c.close().catch(() => undefined);
  }

  private connect(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const neg = await createElasticsearchClient(this.clientOptions);
      const bridge = bridgeClientLogs(neg.client, this.log);
      try {
        if (this.cfg.templates.install) {
          const set = buildTemplates({
            name: this.cfg.templates.name,
            dataStreams: [this.cfg.dataStreams.alerts, this.cfg.dataStreams.events],
            priority: this.cfg.templates.priority,
            sensorVersion: this.o.sensorVersion,
          });
          this.templates = await installTemplates(neg.client, set, this.log);
        }
      } catch (e) {
        bridge.detach();
        await neg.client.close().catch(() => undefined);
        throw e;
      }
      this.server = neg.server;
      this.bridge = bridge;
      this.client = neg.client;
      this.log.info({ server: neg.server.number, compatibilityMode: neg.compatibilityMode }, 'connected to Elasticsearch %s', neg.server.number);
      return neg.client;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** One bulk request (halved while the server says it is too large). */
  private async bulk(client: Client, docs: Doc[]): Promise<BulkOutcome> {
    // The NDJSON body as one buffer from the documents' bytes: the client sends it as it is.
    const parts: Buffer[] = new Array(docs.length * 3);
    let size = 0;
    for (let i = 0; i < docs.length; i++) {
      const d = docs[i]!;
      const a = Buffer.from(d.action, 'utf8');
      const j = typeof d.json === 'string' ? Buffer.from(d.json, 'utf8') : d.json;
      parts[3 * i] = a;
      parts[3 * i + 1] = j;
      parts[3 * i + 2] = NL;
      size += a.length + j.length + 1;
    }
    const body = Buffer.concat(parts, size);
    let res: { errors?: boolean; items?: BulkItem[] };
    try {
      res = (await client.bulk({ operations: body as never, filter_path: 'errors,items.*.status,items.*.error' })) as typeof res;
    } catch (e) {
      if (e instanceof errors.ResponseError && e.statusCode === 413 && docs.length > 1) {
        const half = docs.length >> 1;
        const a = await this.bulk(client, docs.slice(0, half));
        const b = await this.bulk(client, docs.slice(half));
        return {
          created: a.created + b.created,
          duplicates: a.duplicates + b.duplicates,
          retry: [...a.retry, ...b.retry.map((i) => i + half)],
          rejected: [...a.rejected, ...b.rejected.map((r) => ({ ...r, index: r.index + half }))],
          blocked: [...a.blocked, ...b.blocked.map((r) => ({ ...r, index: r.index + half }))],
        };
      }
      throw e;
    }
    this.stats.requests++;
    if (res.errors === false) return { created: docs.length, duplicates: 0, retry: [], rejected: [], blocked: [] };
    return classifyBulkItems(res.items ?? [], docs.length);
  }

  /** Dead-letter refused documents (fsync'ed before the batch is confirmed). */
  private reject(docs: Doc[], rejected: BulkOutcome['rejected']): void {
    const letters: DeadLetter[] = rejected.map((r) => {
      const d = docs[r.index]!;
      let document: unknown;
      const text = d.json.toString();
      try {
        document = JSON.parse(text);
      } catch {
        document = text;
      }
      return { target: d.target, id: d.id, status: r.status, reason: r.reason, document };
    });
    this.deadLetter.write(letters);
    this.stats.deadLetters += letters.length;
    const first = rejected[0]!;
    const reason = first.reason as { type?: string; reason?: string } | null;
    this.log.warn(
      { count: letters.length, total: this.stats.deadLetters, file: this.deadLetter.path, status: first.status, reason: reason?.type, detail: reason?.reason, id: docs[first.index]!.id },
      'elasticsearch refused %d documents for good: written to the dead-letter file',
      letters.length,
    );
  }

  private wrap(e: unknown): SensorError {
    if (e instanceof SensorError) return e;
    if (e instanceof errors.ResponseError) {
      const status = e.statusCode ?? 0;
      const reason = JSON.stringify((e.body as { error?: unknown })?.error ?? e.message).slice(0, 300);
      if (status === 401 || status === 403) {
        return new SensorError('ESENSOR_SINK_CONFIG', `Elasticsearch refused the bulk request (HTTP ${status}): ${reason}: check elasticsearch.auth and the user's create_doc privilege`, {
          field: 'elasticsearch.auth',
          cause: e,
          retriable: true,
        });
      }
      return new SensorError('ESENSOR_SINK_UNAVAILABLE', `Elasticsearch answered the bulk request with HTTP ${status}: ${reason}`, { cause: e, retriable: true });
    }
    return new SensorError('ESENSOR_SINK_UNAVAILABLE', `Elasticsearch (${this.cfg.node}) did not take the batch: ${(e as Error)?.name ?? ''}: ${(e as Error)?.message ?? String(e)}`, {
      cause: e,
      retriable: true,
    });
  }
}
