/**
 * sinks/syslog: classified events → a syslog server (rsyslog, syslog-ng, a
 * SIEM's syslog input), one message per event carrying a CEF line or an ECS
 * JSON document.
 *
 * Takes: batches of classified events and a LineFormatter (CEF or ECS).
 * Gives: RFC 5424 (or RFC 3164) messages over RELP (acknowledged, see
 * relp-session.ts), over TCP or TLS, octet-counted (RFC 6587) or LF-framed,
 * or over UDP one datagram each. Over RELP a batch resolves once the server
 * acknowledged every message of it: nothing the cursor calls delivered can be
 * lost in flight. Plain syslog has no acknowledgements, so over TCP/TLS a
 * batch resolves once every byte is handed to the kernel's socket, and bytes
 * still in the send buffer (or on the wire) when the peer dies are lost after
 * the cursor moved (docs/delivery.md). A write that fails is retried whole.
 *
 * Oversize messages are cut with a marker and counted (`stats.truncated`),
 * never dropped silently. A peer that cannot be reached makes `send` reject
 * with ESENSOR_SINK_UNAVAILABLE (retriable); reconnection waits an
 * exponential backoff so a retry loop cannot hammer the server.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { RelpSession } from './relp-session.js';
import { SensorError } from '../../errors.js';
import { componentLogger, type Logger } from '../../telemetry/logger.js';
import type { ClassifiedEvent } from '../../model/event.js';
import { lineOf, routeOf, type LineFormatter, type Sink } from '../sink.js';
import {
  FACILITIES,
  buildMessage,
  headerFacts,
  lfFramed,
  octetCounted,
  syslogHeader,
  type FacilityName,
  type SyslogProtocol,
} from './syslog-format.js';
import { readTlsFiles } from '../config-files.js';
import type { SensorConfig } from '../../config/config.js';

/** The transports and framings the configuration allows (schemas/config.schema.json, syslog.*). */
export type SyslogTransport = SensorConfig['syslog']['transport'];
export type SyslogFraming = SensorConfig['syslog']['framing'];

export interface SyslogTlsOptions {
  /** PEM CA certificate(s) that sign the server's certificate (default: the system store). */
  ca?: string | Buffer;
  /** PEM client certificate and key, for servers that require them. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Verify the server's certificate (default true). */
  rejectUnauthorized?: boolean;
  /** Name to verify the certificate against (default: host). */
  servername?: string;
}

export interface SyslogSinkOptions {
  host: string;
  port: number;
  transport: SyslogTransport;
  /** RFC 5424 (default) or the classic BSD form of RFC 3164. */
  protocol?: SyslogProtocol;
  /** TCP/TLS framing (default octet counting, RFC 6587 3.4.1). */
  framing?: SyslogFraming;
  facility?: FacilityName;
  appName?: string;
  /** HOSTNAME of the messages (host.name). */
  hostname: string;
  /** PROCID (default this process). */
  procId?: number;
  /** The line in each message: CEF or ECS JSON. */
  format: LineFormatter;
  /** Only events with this classification (undefined: all). */
  only?: 'suspicious';
  /**
   * Largest syslog message in bytes (header + MSG, without framing); larger
   * ones are truncated with a marker and counted. Default 2048 on UDP (what
   * RFC 5424 receivers should accept), 65536 on TCP/TLS (raise the server's
   * limit to match, e.g. rsyslog `global(maxMessageSize="64k")`).
   */
  maxMessageBytes?: number;
  tls?: SyslogTlsOptions;
  connectTimeoutMs?: number;
  writeTimeoutMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
}

export interface SyslogSinkStats {
  /** Messages handed to the socket. */
  sent: number;
  /** Messages cut at maxMessageBytes (each ends with the truncation marker). */
  truncated: number;
  /** Successful (re)connections of a stream transport. */
  connects: number;
  /** Failed connection attempts and broken writes. */
  failures: number;
}

const UDP_MAX_PAYLOAD = 65507;

export class SyslogSink implements Sink {
  readonly name: string;
  readonly stats: SyslogSinkStats = { sent: 0, truncated: 0, connects: 0, failures: 0 };
  private readonly o: Required<Omit<SyslogSinkOptions, 'tls' | 'only'>> & Pick<SyslogSinkOptions, 'tls' | 'only'>;
  private readonly log: Logger;
  private socket: Socket | undefined;
  /** The RELP session on `socket` (transport relp). */
  private relp: RelpSession | undefined;
  private connecting: Promise<Socket> | undefined;
  private udp: UdpSocket | undefined;
  private consecutiveFailures = 0;
  private nextAttemptAt = 0;
  private pending = new Set<Promise<void>>();
  private closed = false;
  private reportedTruncated = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(opts: SyslogSinkOptions) {
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
      throw new SensorError('ESENSOR_SINK_CONFIG', `syslog port must be 1-65535, got ${opts.port}`, { field: 'syslog.port' });
    }
    const max = opts.maxMessageBytes ?? (opts.transport === 'udp' ? 2048 : 65536);
    if (opts.transport === 'udp' && max > UDP_MAX_PAYLOAD) {
      throw new SensorError('ESENSOR_SINK_CONFIG', `syslog maxMessageBytes ${max} exceeds the UDP payload limit ${UDP_MAX_PAYLOAD}`, {
        field: 'syslog.maxMessageBytes',
      });
    }
    if (max < 480) throw new SensorError('ESENSOR_SINK_CONFIG', 'syslog maxMessageBytes must be at least 480 (RFC 5424)', { field: 'syslog.maxMessageBytes' });
    this.o = {
      protocol: 'rfc5424',
      framing: 'octet-counting',
      facility: 'auth',
      appName: 'ebpf-sensor',
      procId: process.pid,
      connectTimeoutMs: 5000,
      writeTimeoutMs: 10_000,
      backoffInitialMs: 200,
      backoffMaxMs: 30_000,
      ...opts,
      maxMessageBytes: max,
    };
    this.name = `syslog:${opts.transport}://${opts.host}:${opts.port}`;
    this.log = componentLogger('sink.syslog');
    // Counts on a timer, never a line per event.
    this.timer = setInterval(() => this.reportTruncated(), 60_000);
    this.timer.unref();
  }

  async send(batch: readonly ClassifiedEvent[]): Promise<void> {
    if (this.closed) throw new SensorError('ESENSOR_INTERNAL', `${this.name}: send after close`);
    const p = this.deliver(batch);
    this.pending.add(p);
    try {
      await p;
    } finally {
      this.pending.delete(p);
    }
  }

  /** Syslog messages (without framing) for a batch, in order. */
  messages(batch: readonly ClassifiedEvent[]): Buffer[] {
    const out: Buffer[] = [];
    const facility = FACILITIES[this.o.facility];
    for (const ce of batch) {
      // Loss reports pass the alerts-only filter: gaps must reach whoever reads alerts.
      // Routing facts and the line journaled with the event when there are (no parse, no formatting).
      const r = routeOf(ce);
      if (this.o.only && !r.suspicious && !r.loss) continue;
      const line = lineOf(ce, this.o.format);
      if ((this.o.transport === 'tcp' || this.o.transport === 'tls') && this.o.framing === 'lf' && line.includes('\n')) {
        throw new SensorError('ESENSOR_INTERNAL', `${this.name}: a formatted line holds a raw LF, which LF framing cannot carry`);
      }
      const h = headerFacts(r, ce);
      const header = syslogHeader(this.o.protocol, {
        facility,
        severity: h.severity,
        time: h.time,
        hostname: this.o.hostname,
        appName: this.o.appName,
        procId: this.o.procId,
        msgId: h.msgId,
      });
      const m = buildMessage(header, line, this.o.maxMessageBytes);
      if (m.truncated) this.stats.truncated++;
      out.push(m.bytes);
    }
    return out;
  }

  private async deliver(batch: readonly ClassifiedEvent[]): Promise<void> {
    const msgs = this.messages(batch);
    if (msgs.length === 0) return;
    if (this.o.transport === 'udp') {
      await this.sendUdp(msgs);
    } else if (this.o.transport === 'relp') {
      await this.sendRelp(msgs);
    } else {
      const frame = this.o.framing === 'lf' ? lfFramed : octetCounted;
      await this.sendStream(Buffer.concat(msgs.map(frame)));
    }
    this.stats.sent += msgs.length;
  }

  private unavailable(what: string, cause: unknown): SensorError {
    this.stats.failures++;
    this.consecutiveFailures++;
    const delay = Math.min(this.o.backoffMaxMs, this.o.backoffInitialMs * 2 ** Math.min(this.consecutiveFailures - 1, 20));
    this.nextAttemptAt = Date.now() + delay;
    if (this.consecutiveFailures === 1) {
      this.log.warn({ err: cause, sink: this.name }, 'syslog server unavailable: %s; retrying with backoff', what);
    }
    return new SensorError('ESENSOR_SINK_UNAVAILABLE', `${this.name}: ${what}: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
      retriable: true,
    });
  }

  private recovered(): void {
    if (this.consecutiveFailures > 0) this.log.info({ sink: this.name, failures: this.consecutiveFailures }, 'syslog server reachable again');
    this.consecutiveFailures = 0;
    this.nextAttemptAt = 0;
  }

  private async sendStream(buf: Buffer): Promise<void> {
    const sock = await this.stream();
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`write not accepted within ${this.o.writeTimeoutMs} ms`)), this.o.writeTimeoutMs);
        sock.write(buf, (err) => {
          clearTimeout(timer);
          if (err) reject(err);
          else resolve();
        });
      });
    } catch (e) {
      sock.destroy();
      if (this.socket === sock) this.socket = undefined;
      throw this.unavailable('write failed', e);
    }
  }

  /** Every message acknowledged by the RELP server, or a retriable failure (the batch is sent again, whole). */
  private async sendRelp(msgs: Buffer[]): Promise<void> {
    const sock = await this.stream();
    const session = this.relp;
    try {
      if (!session || !session.alive) throw new Error('the RELP session is closed');
      await session.sendAll(msgs, this.o.writeTimeoutMs);
    } catch (e) {
      sock.destroy();
      if (this.socket === sock) this.socket = undefined;
      throw this.unavailable('RELP delivery not acknowledged', e);
    }
  }

  private async stream(): Promise<Socket> {
    const s = this.socket;
    if (s && !s.destroyed && s.writable) return s;
    this.socket = undefined;
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<Socket> {
    const wait = this.nextAttemptAt - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (this.closed) throw new SensorError('ESENSOR_SINK_UNAVAILABLE', `${this.name}: closed`, { retriable: false });
    try {
      const sock = await new Promise<Socket>((resolve, reject) => {
        const tls = this.o.transport === 'tls';
        const t = this.o.tls ?? {};
        const sock: Socket = tls
          ? tlsConnect({
              host: this.o.host,
              port: this.o.port,
              rejectUnauthorized: t.rejectUnauthorized ?? true,
              ...(t.ca !== undefined ? { ca: t.ca } : {}),
              ...(t.cert !== undefined ? { cert: t.cert } : {}),
              ...(t.key !== undefined ? { key: t.key } : {}),
              ...(isIP(this.o.host) === 0 || t.servername !== undefined ? { servername: t.servername ?? this.o.host } : {}),
            })
          : netConnect({ host: this.o.host, port: this.o.port });
        const timer = setTimeout(() => {
          sock.destroy();
          reject(new Error(`no connection within ${this.o.connectTimeoutMs} ms`));
        }, this.o.connectTimeoutMs);
        sock.once(tls ? 'secureConnect' : 'connect', () => {
          clearTimeout(timer);
          sock.removeAllListeners('error');
          resolve(sock);
        });
        sock.once('error', (e) => {
          clearTimeout(timer);
          sock.destroy();
          reject(e);
        });
      });
      sock.setKeepAlive(true, 30_000);
      sock.setNoDelay(true);
      if (this.o.transport === 'relp') {
        this.relp = await RelpSession.open(sock, this.o.connectTimeoutMs, this.o.appName).catch((e: unknown) => {
          sock.destroy();
          throw e;
        });
      } else {
        // Syslog servers do not answer; anything they send is discarded.
        sock.resume();
      }
      // A close or error marks the connection dead so the next batch reconnects.
      sock.on('error', () => sock.destroy());
      sock.on('close', () => {
        if (this.socket === sock) this.socket = undefined;
      });
      this.socket = sock;
      this.stats.connects++;
      this.recovered();
      return sock;
    } catch (e) {
      throw this.unavailable('cannot connect', e);
    }
  }

  private udpSocket(): UdpSocket {
    if (!this.udp) {
      this.udp = createSocket(isIP(this.o.host) === 6 ? 'udp6' : 'udp4');
      this.udp.on('error', (e) => this.log.warn({ err: e, sink: this.name }, 'syslog UDP socket error'));
      this.udp.unref();
    }
    return this.udp;
  }

  private async sendUdp(msgs: Buffer[]): Promise<void> {
    const sock = this.udpSocket();
    try {
      for (const m of msgs) {
        await new Promise<void>((resolve, reject) => sock.send(m, this.o.port, this.o.host, (err) => (err ? reject(err) : resolve())));
      }
      this.recovered();
    } catch (e) {
      throw this.unavailable('UDP send failed', e);
    }
  }

  private reportTruncated(): void {
    const n = this.stats.truncated - this.reportedTruncated;
    if (n > 0) {
      this.log.warn({ sink: this.name, truncated: n, total: this.stats.truncated, maxMessageBytes: this.o.maxMessageBytes }, 'syslog messages truncated at the size limit');
      this.reportedTruncated = this.stats.truncated;
    }
  }

  async flush(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    clearInterval(this.timer);
    this.reportTruncated();
    const s = this.socket;
    this.socket = undefined;
    const relp = this.relp;
    this.relp = undefined;
    if (relp?.alive) await relp.close(2000);
    if (s && !s.destroyed) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          s.destroy();
          resolve();
        }, 2000);
        s.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        s.end();
      });
    }
    if (this.udp) {
      const u = this.udp;
      this.udp = undefined;
      await new Promise<void>((resolve) => u.close(() => resolve()));
    }
  }
}

/**
 * The `syslog` section of the configuration (schemas/config.schema.json), but
 * `enabled` and `format`: those are the pipeline's (it passes the formatter).
 */
export type SyslogConfig = Omit<SensorConfig['syslog'], 'enabled' | 'format'>;

/** Build the sink from the configuration; the pipeline passes the line formatter of `syslog.format`. */
export function syslogSinkFromConfig(cfg: SyslogConfig, format: LineFormatter, hostname: string): SyslogSink {
  const tls: SyslogTlsOptions | undefined = cfg.transport === 'tls' ? readTlsFiles(cfg.tls ?? {}, 'syslog.tls') : undefined;
  return new SyslogSink({
    host: cfg.host,
    port: cfg.port,
    transport: cfg.transport,
    protocol: cfg.protocol,
    framing: cfg.framing,
    facility: cfg.facility,
    appName: cfg.appName,
    hostname,
    format,
    ...(cfg.events === 'alerts' ? { only: 'suspicious' as const } : {}),
    ...(cfg.maxMessageBytes !== undefined ? { maxMessageBytes: cfg.maxMessageBytes } : {}),
    ...(tls ? { tls } : {}),
  });
}
