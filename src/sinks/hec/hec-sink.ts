/**
 * sinks/hec: classified events → Splunk HTTP Event Collector.
 *
 * Takes: batches of classified events (from the journal, through Delivery)
 * and a function giving each one's document (ECS JSON or a CEF line). Gives:
 * the batch POSTed to /services/collector/event as HEC envelopes (hec-format.ts),
 * cut into requests of at most `maxRequestBytes`, gzip-compressed. `send`
 * resolves only once Splunk has every event:
 *
 * - without indexer acknowledgement: every request answered 200;
 * - with it (`ack.enabled`): every request answered 200 with an ackId, and
 *   every ackId reported true by /services/collector/ack (polled every
 *   `pollMs`). A batch not acknowledged within `timeoutMs` (or whose acks
 *   cannot be polled: the server restarted and forgot them) rejects, and
 *   Delivery sends it again — so the journal cursor only passes acked data.
 *   At-least-once: Splunk may then hold an event twice.
 *
 * Refusals (hec-client.ts classifyAnswer): data errors are split down to the
 * single event and that one goes to the dead-letter file; a bad token, a
 * forbidden index and server trouble reject `send` (retriable): the events
 * wait in the journal until Splunk takes them.
 */
import { randomUUID } from 'node:crypto';
import { SensorError } from '../../errors.js';
import type { ShippedEvent } from '../../model/event.js';
import { componentLogger, type Logger } from '../../telemetry/logger.js';
import { DeadLetterFile } from '../dead-letter.js';
import { isAlert, lineOf, routeOf, type LineFormatter, type Sink, type SinkOptions } from '../sink.js';
import { classifyAnswer, HecClient, readToken, type HecAnswer } from './hec-client.js';
import { envelopeMiddle, hecEnvelope } from './hec-format.js';
import type { SensorConfig } from '../../config/config.js';

/** The `splunk` section of the configuration (schemas/config.schema.json). */
export type HecSinkConfig = SensorConfig['splunk'];

export interface HecSinkOptions extends SinkOptions<HecSinkConfig> {
  /**
   * The event's document as the sink ships it: ECS JSON (format ecs) or a
   * CEF line (format cef). The only per-event conversion of this sink.
   */
  document: LineFormatter;
  /** Default HEC `host` (the sensor's host name). */
  hostName: string;
}

export interface HecSinkStats {
  /** Events Splunk took (answered 200; with acks: and acknowledged). */
  sent: number;
  /** HTTP requests to /services/collector/event. */
  requests: number;
  /** Requests acknowledged by the indexers. */
  acked: number;
  /** Ack polls. */
  ackPolls: number;
  /** Batches sent again because their acks did not all come within ack.timeoutMs or could not be polled. */
  ackTimeouts: number;
  /** Requests split because Splunk found them too large or refused data in them. */
  splits: number;
  /** Events refused for good and written to the dead-letter file. */
  deadLetters: number;
  /** Events skipped by `events: alerts`. */
  filtered: number;
  /** Failed sends (each is retried by delivery). */
  failures: number;
  /** Refusals of the token (401/403); retried. */
  authFailures: number;
}

interface Item {
  id: string;
  envelope: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

export class HecSink implements Sink {
  readonly name: string;
  readonly stats: HecSinkStats = { sent: 0, requests: 0, acked: 0, ackPolls: 0, ackTimeouts: 0, splits: 0, deadLetters: 0, filtered: 0, failures: 0, authFailures: 0 };
  /** The X-Splunk-Request-Channel of this sink. */
  readonly channel: string | undefined;
  private readonly cfg: HecSinkConfig;
  private readonly log: Logger;
  private readonly client: HecClient;
  private readonly deadLetter: DeadLetterFile;
  private readonly middle: { alert: string; event: string };
  private readonly sourcetype: string;
  private closed = false;

  constructor(private readonly o: HecSinkOptions) {
    this.cfg = o.config;
    this.name = o.name ?? 'splunk';
    this.log = o.log ?? componentLogger('splunk-sink');
    if (!this.cfg.url) throw new SensorError('ESENSOR_SINK_CONFIG', 'splunk.url is not set', { field: 'splunk.url' });
    const token = readToken(this.cfg);
    this.channel = this.cfg.ack.enabled ? (this.cfg.ack.channel ?? randomUUID()) : this.cfg.ack.channel;
    this.client = new HecClient({
      url: this.cfg.url,
      token,
      tls: this.cfg.tls,
      gzip: this.cfg.gzip,
      requestTimeoutMs: this.cfg.requestTimeoutMs,
      ...(this.channel !== undefined ? { channel: this.channel } : {}),
    });
    this.sourcetype = this.cfg.sourcetype ?? (this.cfg.format === 'cef' ? 'ebpf:cef' : 'ebpf:ecs');
    const host = this.cfg.host ?? o.hostName;
    const meta = (index: string | undefined) => ({ host, source: this.cfg.source, sourcetype: this.sourcetype, ...(index !== undefined ? { index } : {}) });
    this.middle = { alert: envelopeMiddle(meta(this.cfg.index.alerts)), event: envelopeMiddle(meta(this.cfg.index.events)) };
    this.deadLetter = new DeadLetterFile({ path: this.cfg.deadLetter.path, maxBytes: this.cfg.deadLetter.maxBytes, keep: this.cfg.deadLetter.keepFiles, sink: this.name });
    this.log.info(
      { endpoint: this.client.endpoint, sourcetype: this.sourcetype, index: this.cfg.index, ack: this.cfg.ack.enabled, channel: this.channel, gzip: this.cfg.gzip, deadLetter: this.cfg.deadLetter.path },
      'splunk sink: HEC events%s',
      this.cfg.ack.enabled ? ' with indexer acknowledgement' : '',
    );
  }

  get deadLetterPath(): string {
    return this.deadLetter.path;
  }

  async send(batch: readonly ShippedEvent[]): Promise<void> {
    if (this.closed) throw new SensorError('ESENSOR_INTERNAL', 'splunk sink used after close');
    const items: Item[] = [];
    const isJson = this.cfg.format === 'ecs';
    for (const ce of batch) {
      const r = routeOf(ce);
      const alert = isAlert(r);
      if (!alert && this.cfg.events === 'alerts') {
        this.stats.filtered++;
        continue;
      }
      // The line journaled with the event when there is one (no second normalization).
      const line = lineOf(ce, this.o.document);
      const doc = typeof line === 'string' ? line : line.toString('utf8');
      items.push({ id: r.id, envelope: hecEnvelope(r.time ?? ce.event['@timestamp'], alert ? this.middle.alert : this.middle.event, doc, isJson) });
    }
    if (!items.length) return;
    try {
      const ackIds: number[] = [];
      for (const req of this.cut(items)) await this.post(req, ackIds);
      if (this.cfg.ack.enabled) await this.awaitAcks(ackIds);
      this.stats.sent += items.length;
    } catch (e) {
      this.stats.failures++;
      throw e;
    }
  }

  async flush(): Promise<void> {
    // Every send waits for Splunk's answers (and acks): nothing is buffered here.
  }

  async close(): Promise<void> {
    this.closed = true;
    this.deadLetter.close();
    this.client.close();
  }

  /** Requests of at most maxRequestBytes (an event larger than that goes alone). */
  private *cut(items: Item[]): Generator<Item[]> {
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < items.length; i++) {
      const n = items[i]!.envelope.length;
      if (i > start && bytes + n > this.cfg.maxRequestBytes) {
        yield items.slice(start, i);
        start = i;
        bytes = 0;
      }
      bytes += n;
    }
    if (start < items.length) yield items.slice(start);
  }

  /** POST one request; split it on 413 and data refusals until the refused event is alone, then dead-letter that. */
  private async post(items: Item[], ackIds: number[]): Promise<void> {
    let body = '';
    for (const it of items) body += it.envelope;
    const a = await this.client.sendEvents(body);
    this.stats.requests++;
    const verdict = classifyAnswer(a);
    if (verdict === 'ok') {
      if (this.cfg.ack.enabled) {
        if (a.ackId === undefined) {
          throw new SensorError('ESENSOR_SINK_CONFIG', 'splunk.ack.enabled but Splunk answered without an ackId: enable indexer acknowledgement on the HEC token', {
            field: 'splunk.ack.enabled',
            retriable: true,
          });
        }
        ackIds.push(a.ackId);
      }
      return;
    }
    if ((verdict === 'split' || verdict === 'refused') && items.length > 1) {
      this.stats.splits++;
      // Events before a refused one may be indexed already: sending them again is a duplicate, never a loss.
      const cutAt = verdict === 'refused' && a.invalidEvent !== undefined && a.invalidEvent > 0 && a.invalidEvent < items.length ? a.invalidEvent : items.length >> 1;
      await this.post(items.slice(0, cutAt), ackIds);
      await this.post(items.slice(cutAt), ackIds);
      return;
    }
    if (verdict === 'refused' || verdict === 'split') {
      this.refuse(items[0]!, a);
      return;
    }
    throw this.answerError(a);
  }

  /** Poll /ack until every id is true; rejects after ack.timeoutMs (the batch is then sent again). */
  private async awaitAcks(ids: number[]): Promise<void> {
    if (!ids.length) return;
    const waiting = new Set(ids);
    const deadline = Date.now() + this.cfg.ack.timeoutMs;
    for (;;) {
      await sleep(Math.min(this.cfg.ack.pollMs, Math.max(0, deadline - Date.now())));
      let a: HecAnswer;
      try {
        a = await this.client.queryAcks([...waiting]);
      } catch (e) {
        this.stats.ackTimeouts++;
        throw new SensorError('ESENSOR_SINK_UNAVAILABLE', `cannot poll Splunk's acks (${(e as Error).message}): the batch is sent again`, { cause: e, retriable: true });
      }
      this.stats.ackPolls++;
      if (a.status !== 200 || !a.acks) {
        this.stats.ackTimeouts++;
        throw this.answerError(a, 'ack poll');
      }
      for (const [id, ok] of Object.entries(a.acks)) {
        if (ok === true && waiting.delete(Number(id))) this.stats.acked++;
      }
      if (!waiting.size) return;
      if (Date.now() >= deadline) {
        this.stats.ackTimeouts++;
        throw new SensorError(
          'ESENSOR_SINK_UNAVAILABLE',
          `Splunk did not acknowledge ${waiting.size} of ${ids.length} requests within ${this.cfg.ack.timeoutMs} ms (splunk.ack.timeoutMs): the batch is sent again`,
          { retriable: true },
        );
      }
    }
  }

  private refuse(it: Item, a: HecAnswer): void {
    let document: unknown;
    try {
      document = JSON.parse(it.envelope);
    } catch {
      document = it.envelope;
    }
    this.deadLetter.write([{ target: this.client.endpoint, id: it.id, status: a.status, reason: { code: a.code, text: a.text }, document }]);
    this.stats.deadLetters++;
    this.log.warn({ id: it.id, status: a.status, code: a.code, text: a.text, total: this.stats.deadLetters, file: this.deadLetter.path }, 'splunk refused an event for good: written to the dead-letter file');
  }

  private answerError(a: HecAnswer, what = 'request'): SensorError {
    const verdict = classifyAnswer(a);
    if (a.status === 401 || a.status === 403) {
      this.stats.authFailures++;
      return new SensorError('ESENSOR_SINK_CONFIG', `Splunk refused the HEC token (HTTP ${a.status}, code ${a.code}: ${a.text}): check splunk.token; events wait in the journal and go out once it is accepted`, {
        field: 'splunk.token',
        retriable: true,
      });
    }
    if (verdict === 'config') {
      return new SensorError('ESENSOR_SINK_CONFIG', `Splunk refused the HEC ${what} (HTTP ${a.status}, code ${a.code}: ${a.text}); events wait in the journal`, { field: 'splunk', retriable: true });
    }
    return new SensorError('ESENSOR_SINK_UNAVAILABLE', `Splunk answered the HEC ${what} with HTTP ${a.status} (code ${a.code}: ${a.text})`, { retriable: true });
  }
}
