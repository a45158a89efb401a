/**
 * sinks/hec: the HTTP side of the HTTP Event Collector — one keep-alive
 * connection pool, gzip, TLS with CA verification, and Splunk's answers
 * turned into "delivered", "retry" or "refused for good".
 *
 * Takes: the endpoint, token and TLS settings; request bodies. Gives: the
 * parsed HEC answer ({ status, code, text, ackId, invalidEvent }) or a
 * SensorError for transport failures. The token is sent in the
 * `Authorization: Splunk <token>` header and never appears in errors or logs.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { gzip as gzipCb } from 'node:zlib';
import { promisify } from 'node:util';
import { SensorError } from '../../errors.js';
import type { SensorConfig } from '../../config/config.js';
import { readTlsFiles } from '../config-files.js';

const gzip = promisify(gzipCb);

/** `splunk.tls` of the configuration. */
export type HecTls = SensorConfig['splunk']['tls'];

export interface HecClientOptions {
  /** Base URL (scheme, host, port; a path prefix is kept). */
  url: string;
  token: string;
  tls: HecTls;
  gzip: boolean;
  /** X-Splunk-Request-Channel (always sent when set; required by acks). */
  channel?: string;
  requestTimeoutMs: number;
}

/** A HEC answer. `code` is Splunk's status code in the body (0 = success), -1 when the body had none. */
export interface HecAnswer {
  status: number;
  code: number;
  text: string;
  ackId?: number;
  /** `invalid-event-number` of a code 6 answer: index of the first refused event in the request. */
  invalidEvent?: number;
  /** Body of an /ack answer. */
  acks?: Record<string, boolean>;
}

/** What the sink does with an answer (Splunk's documented codes; docs/delivery.md lists them). */
export type HecVerdict = 'ok' | 'retry' | 'config' | 'split' | 'refused';

/**
 * - 200 (code 0): delivered.
 * - 413, or a body over the server's max_content_length: split the request.
 * - 400 codes 5/6/12/13/15 (no data, invalid format, event field missing or blank, bad indexed fields):
 *   the data is at fault: split down to the event, then dead-letter it.
 * - 401/403 (codes 1–4: token disabled, missing, invalid auth/token), 400 code 7 (index not allowed),
 *   10/11 (channel missing/invalid), 14 (acks disabled on the token), 16, 404: the configuration is at
 *   fault — retried (a token fixed or re-enabled in Splunk lets the events through; none is lost).
 * - 429, 503 (code 9, server busy), 500 (code 8), other 5xx: retried with backoff.
 */
export function classifyAnswer(a: HecAnswer): HecVerdict {
  if (a.status >= 200 && a.status < 300 && (a.code === 0 || a.code === -1)) return 'ok';
  if (a.status === 413) return 'split';
  if (a.status === 400 && [5, 6, 12, 13, 15].includes(a.code)) return 'refused';
  if (a.status === 401 || a.status === 403 || a.status === 404 || (a.status === 400 && [7, 10, 11, 14, 16].includes(a.code))) return 'config';
  return 'retry';
}

/** The HEC token from the config or its file (first line); throws ESENSOR_SINK_CONFIG without one. */
export function readToken(cfg: { token?: string; tokenFile?: string }): string {
  if (cfg.token !== undefined && cfg.tokenFile !== undefined) {
    throw new SensorError('ESENSOR_SINK_CONFIG', 'splunk: give token or tokenFile, not both', { field: 'splunk.token' });
  }
  if (cfg.token !== undefined) return cfg.token.trim();
  if (cfg.tokenFile !== undefined) {
    let t: string;
    try {
      t = readFileSync(cfg.tokenFile, 'utf8').split(/\r?\n/)[0]!.trim();
    } catch (e) {
      throw new SensorError('ESENSOR_SINK_CONFIG', `cannot read splunk.tokenFile ${cfg.tokenFile}: ${(e as Error).message}`, { file: cfg.tokenFile, field: 'splunk.tokenFile', cause: e });
    }
    if (!t) throw new SensorError('ESENSOR_SINK_CONFIG', `splunk.tokenFile ${cfg.tokenFile} is empty`, { file: cfg.tokenFile, field: 'splunk.tokenFile' });
    return t;
  }
  throw new SensorError('ESENSOR_SINK_CONFIG', 'splunk.url is set but no token: set splunk.token, splunk.tokenFile or EBPF_SENSOR_SPLUNK__TOKEN', { field: 'splunk.token' });
}

export class HecClient {
  private readonly base: URL;
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly https: boolean;
  private readonly auth: string;

  constructor(private readonly o: HecClientOptions) {
    this.base = new URL(o.url);
    this.https = this.base.protocol === 'https:';
    this.auth = `Splunk ${o.token}`;
    if (this.https) {
      this.agent = new HttpsAgent({ keepAlive: true, maxSockets: 4, ...readTlsFiles(o.tls, 'splunk.tls') });
    } else {
      this.agent = new HttpAgent({ keepAlive: true, maxSockets: 4 });
    }
  }

  /** Where requests go, without credentials (for logs). */
  get endpoint(): string {
    return `${this.base.origin}${this.base.pathname.replace(/\/$/, '')}/services/collector`;
  }

  /** POST events (one JSON envelope after another) to /services/collector/event. */
  async sendEvents(body: string): Promise<HecAnswer> {
    return this.post('/services/collector/event', body, this.o.gzip);
  }

  /** Ask which of `ids` are indexed (POST /services/collector/ack). */
  async queryAcks(ids: readonly number[]): Promise<HecAnswer> {
    return this.post('/services/collector/ack', JSON.stringify({ acks: ids }), false);
  }

  close(): void {
    this.agent.destroy();
  }

  private async post(path: string, text: string, compress: boolean): Promise<HecAnswer> {
    const raw = Buffer.from(text);
    // Level 1: about 2/3 of level 6's CPU for these JSON documents at a slightly larger size (the Kafka sink's default too).
    const body = compress ? await gzip(raw, { level: 1 }) : raw;
    const url = new URL(`${this.base.pathname.replace(/\/$/, '')}${path}`, this.base);
    const headers: Record<string, string | number> = {
      authorization: this.auth,
      'content-type': 'application/json',
      'content-length': body.length,
    };
    if (compress) headers['content-encoding'] = 'gzip';
    if (this.o.channel !== undefined) headers['x-splunk-request-channel'] = this.o.channel;
    const req = this.https ? httpsRequest : httpRequest;
    return new Promise<HecAnswer>((resolve, reject) => {
      const r = req(url, { method: 'POST', agent: this.agent, headers, timeout: this.o.requestTimeoutMs }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(this.transportError(path, e)));
        res.on('end', () => resolve(parseAnswer(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
      });
      r.on('timeout', () => r.destroy(new Error(`no answer within ${this.o.requestTimeoutMs} ms`)));
      r.on('error', (e) => reject(this.transportError(path, e)));
      r.end(body);
    });
  }

  private transportError(path: string, e: Error): SensorError {
    const code = (e as NodeJS.ErrnoException).code;
    const tls = code !== undefined && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO/.test(code);
    return new SensorError(
      tls ? 'ESENSOR_SINK_CONFIG' : 'ESENSOR_SINK_UNAVAILABLE',
      `Splunk HEC ${this.endpoint.replace(/\/services\/collector$/, '')}${path}: ${code ?? e.name}: ${e.message}` + (tls ? ' (check splunk.tls.ca / servername)' : ''),
      { cause: e, retriable: true, ...(tls ? { field: 'splunk.tls' } : {}) },
    );
  }
}

/** An HEC answer from status and body (Splunk answers JSON; proxies may not). */
export function parseAnswer(status: number, text: string): HecAnswer {
  let j: Record<string, unknown> = {};
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object') j = v as Record<string, unknown>;
  } catch {
    // not JSON: keep the status, quote the text
  }
  const a: HecAnswer = { status, code: typeof j.code === 'number' ? j.code : -1, text: typeof j.text === 'string' ? j.text : text.slice(0, 200) };
  if (typeof j.ackId === 'number') a.ackId = j.ackId;
  const inv = j['invalid-event-number'];
  if (typeof inv === 'number') a.invalidEvent = inv;
  if (j.acks && typeof j.acks === 'object') a.acks = j.acks as Record<string, boolean>;
  return a;
}
