/**
 * sinks/kafka: classified events → Kafka topics, with kafkajs.
 *
 * Takes: batches of classified events (from the journal, through Delivery)
 * and a LineFormatter (ECS JSON or CEF). Gives: one message per event, alerts
 * and loss reports on the alerts topic, telemetry on the events topic, keyed
 * by host (or by process entity), produced by an idempotent producer with
 * acks from all in-sync replicas (acks=-1) and LZ4-compressed record
 * batches (or zstd, gzip, none: kafka-codecs.ts), encoded in one pass
 * (kafka-records.ts), grouped per partition in linear time (kafka-grouping.ts). `send` resolves once the broker acknowledged every message of the
 * batch; it rejects (retriable) otherwise and Delivery sends the batch again:
 * at least once. Logs of kafkajs go to pino; credentials never reach a log.
 *
 * A failed send drops the producer and the next send builds a new one: a
 * producer whose sequence numbers went out of step with the broker (an
 * outage in the middle of a request) would otherwise fail for good.
 */
// First: the linear grouping must replace kafkajs' before kafkajs loads (kafka-grouping.ts).
import './kafka-preload.js';
import { CompressionTypes, Kafka, Partitioners, type KafkaConfig, type Message, type Producer, type SASLOptions, type TopicMessages } from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import { SensorError } from '../../errors.js';
import type { ShippedEvent } from '../../model/event.js';
import { componentLogger, type Logger } from '../../telemetry/logger.js';
import { isAlert, lineOf, routeOf, type LineFormatter, type Sink, type SinkOptions } from '../sink.js';
import { kafkaLogLevel, pinoLogCreator } from './kafka-log.js';
import { useCompression } from './kafka-codecs.js';
import { installRecordEncoder } from './kafka-records.js';
import { keyMemoPartitioner } from './kafka-grouping.js';
import { readSecretFile, readTlsFiles } from '../config-files.js';
import type { SensorConfig } from '../../config/config.js';

// Before any produce request: kafkajs binds its record encoders when it loads that module (kafka-records.ts).
installRecordEncoder();

/** The `kafka` section of the configuration (schemas/config.schema.json). */
export type KafkaSinkConfig = SensorConfig['kafka'];

export interface KafkaSinkOptions extends SinkOptions<KafkaSinkConfig> {
  /** The text of each message: ECS JSON or CEF. */
  format: LineFormatter;
  /** host.name: the key of every message with `key: host`. */
  hostName: string;
}

export interface KafkaSinkStats {
  /** Messages acknowledged by the brokers. */
  messages: number;
  /** Bytes of message values acknowledged (before compression). */
  bytes: number;
  /** Produce requests (sendBatch calls) acknowledged. */
  requests: number;
  /** Events skipped by `events: alerts`. */
  filtered: number;
  /** Failed sends (each one is retried by delivery). */
  failures: number;
  /** Producers built (1 + one per failure). */
  producers: number;
}

/**
 * kafkajs' gzip codec at a chosen level (kafka-codecs.ts); kept for callers
 * of the earlier API. kafkajs keeps one codec table per process.
 */
export function useGzipLevel(level: number): void {
  useCompression('gzip', level);
}

/** The kafkajs client options for a config (TLS files and password files read here). */
export function kafkaClientConfig(cfg: KafkaSinkConfig, log: Logger): { config: KafkaConfig; secrets: string[] } {
  if (!cfg.brokers.length) throw new SensorError('ESENSOR_SINK_CONFIG', 'kafka.brokers is empty', { field: 'kafka.brokers' });
  const secrets: string[] = [];
  let ssl: ConnectionOptions | boolean | undefined;
  const t = cfg.tls;
  if (t.enabled || t.ca !== undefined || t.cert !== undefined || t.key !== undefined) {
    ssl = readTlsFiles(t, 'kafka.tls') as ConnectionOptions;
  }
  let sasl: SASLOptions | undefined;
  if (cfg.sasl) {
    const s = cfg.sasl;
    if ((s.password === undefined) === (s.passwordFile === undefined)) {
      throw new SensorError('ESENSOR_SINK_CONFIG', 'kafka.sasl needs exactly one of password and passwordFile', { field: 'kafka.sasl.password' });
    }
    const password = s.password ?? readSecretFile(s.passwordFile!, 'kafka.sasl.passwordFile');
    secrets.push(password);
    sasl = { mechanism: s.mechanism, username: s.username, password } as SASLOptions;
  }
  const config: KafkaConfig = {
    clientId: cfg.clientId,
    brokers: [...cfg.brokers],
    connectionTimeout: cfg.connectionTimeoutMs,
    requestTimeout: cfg.requestTimeoutMs,
    // Bounded: a failed send returns to Delivery, which backs off and retries.
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
    logLevel: kafkaLogLevel(log.level),
    logCreator: pinoLogCreator(log, { secrets }),
  };
  if (ssl !== undefined) config.ssl = ssl;
  if (sasl !== undefined) config.sasl = sasl;
  return { config, secrets };
}

/** Alerts and loss reports go to the alerts topic: whoever watches alerts must learn that events were lost. */
export function isAlertTopic(ce: ShippedEvent): boolean {
  return isAlert(routeOf(ce));
}

export class KafkaSink implements Sink {
  readonly name: string;
  readonly stats: KafkaSinkStats = { messages: 0, bytes: 0, requests: 0, filtered: 0, failures: 0, producers: 0 };
  private readonly log: Logger;
  private readonly cfg: KafkaSinkConfig;
  private readonly kafka: Kafka;
  private readonly compression: CompressionTypes;
  /** The message key of `key: host`, as bytes once (kafkajs would copy a string per message). */
  private readonly hostKey: Buffer;
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;
  private closed = false;

  constructor(private readonly o: KafkaSinkOptions) {
    this.cfg = o.config;
    this.name = o.name ?? 'kafka';
    this.log = o.log ?? componentLogger('kafka-sink');
    const { config } = kafkaClientConfig(this.cfg, this.log);
    this.compression = useCompression(this.cfg.compression, this.cfg.compressionLevel);
    this.hostKey = Buffer.from(o.hostName);
    this.kafka = new Kafka(config);
    this.log.info(
      {
        brokers: this.cfg.brokers,
        topics: this.cfg.topics,
        key: this.cfg.key,
        compression: this.cfg.compression === 'gzip' || this.cfg.compression === 'zstd' ? `${this.cfg.compression} level ${this.cfg.compressionLevel}` : this.cfg.compression,
        tls: config.ssl !== undefined,
        sasl: this.cfg.sasl ? { mechanism: this.cfg.sasl.mechanism, username: this.cfg.sasl.username } : undefined,
      },
      'kafka sink: idempotent producer, acks=-1',
    );
  }

  /** The message key of an event. */
  keyOf(ce: ShippedEvent): string | Buffer {
    if (this.cfg.key === 'process') {
      const r = routeOf(ce);
      return r.entityId || `${this.o.hostName}/${r.pid}`;
    }
    return this.hostKey;
  }

  /** Messages of a batch grouped into produce requests of at most maxRequestBytes. */
  requestsFor(batch: readonly ShippedEvent[]): { requests: TopicMessages[][]; messages: number; bytes: number } {
    const { alerts, events } = this.cfg.topics;
    const max = this.cfg.maxRequestBytes;
    const requests: TopicMessages[][] = [];
    let alertMsgs: Message[] = [];
    let eventMsgs: Message[] = [];
    let size = 0;
    let messages = 0;
    let bytes = 0;
    const cut = (): void => {
      const req: TopicMessages[] = [];
      if (alertMsgs.length) req.push({ topic: alerts, messages: alertMsgs });
      if (eventMsgs.length) req.push({ topic: events, messages: eventMsgs });
      if (req.length) requests.push(req);
      alertMsgs = [];
      eventMsgs = [];
      size = 0;
    };
    for (const ce of batch) {
      const alert = isAlertTopic(ce);
      if (!alert && this.cfg.events === 'alerts') {
        this.stats.filtered++;
        continue;
      }
      // The line journaled with the event, as bytes: kafkajs copies it into the record batch as is.
      const line = lineOf(ce, this.o.format);
      const value = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
      const key = this.keyOf(ce);
      // Record overhead is small next to a document; the broker limit is on compressed bytes anyway.
      const n = value.length + key.length + 32;
      if (size > 0 && size + n > max) cut();
      (alert ? alertMsgs : eventMsgs).push({ key, value });
      size += n;
      messages++;
      bytes += value.length;
    }
    cut();
    return { requests, messages, bytes };
  }

  async send(batch: readonly ShippedEvent[]): Promise<void> {
    if (this.closed) throw new SensorError('ESENSOR_INTERNAL', 'kafka sink used after close');
    const { requests, messages, bytes } = this.requestsFor(batch);
    if (!requests.length) return;
    let producer: Producer;
    try {
      producer = await this.connect();
      const compression = this.compression;
      for (const topicMessages of requests) {
        await producer.sendBatch({ topicMessages, acks: -1, timeout: this.cfg.requestTimeoutMs, compression });
        this.stats.requests++;
      }
    } catch (e) {
      this.stats.failures++;
      await this.reset();
      throw this.wrap(e);
    }
    this.stats.messages += messages;
    this.stats.bytes += bytes;
  }

  async flush(): Promise<void> {
    // Every send waits for its acknowledgements: nothing is buffered here.
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.reset();
  }

  private connect(): Promise<Producer> {
    if (this.producer) return Promise.resolve(this.producer);
    this.connecting ??= (async () => {
      const p = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: true,
        // kafkajs 2's default (murmur2, as the Java client), named so kafkajs does not warn about the v1
        // change; a repeated key (the host, for every message) is hashed once (kafka-grouping.ts).
        createPartitioner: keyMemoPartitioner(Partitioners.DefaultPartitioner),
        retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
      });
      this.stats.producers++;
      try {
        await p.connect();
      } catch (e) {
        await p.disconnect().catch(() => undefined);
        throw e;
      }
      this.producer = p;
      return p;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async reset(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    if (p) await p.disconnect().catch((e: unknown) => this.log.debug({ err: e }, 'producer disconnect failed'));
  }

  private wrap(e: unknown): SensorError {
    const name = (e as Error)?.name ?? '';
    const msg = (e as Error)?.message ?? String(e);
    if (name === 'KafkaJSSASLAuthenticationError') {
      return new SensorError('ESENSOR_SINK_CONFIG', `Kafka refused the SASL credentials of ${this.cfg.sasl?.username ?? '?'}: ${msg}`, {
        field: 'kafka.sasl',
        cause: e,
        retriable: true,
      });
    }
    return new SensorError('ESENSOR_SINK_UNAVAILABLE', `Kafka (${this.cfg.brokers.join(',')}) did not take the batch: ${name ? `${name}: ` : ''}${msg}`, {
      cause: e,
      retriable: true,
    });
  }
}
