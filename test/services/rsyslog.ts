/**
 * A real rsyslog for integration tests: started on loopback with its own
 * temporary configuration (imtcp / imudp / imtcp over TLS on free ports,
 * omfile to a temporary file with one JSON record per message), in the
 * foreground (`-n -f conf -i pidfile`), never the system daemon. The test
 * reads back what rsyslog received and stops it by PID.
 *
 * With `relp`, an imrelp input whose ruleset runs its action in the
 * receiving thread (queue.type direct): rsyslog acknowledges a message only
 * after omfile wrote it, so what it acknowledged survives its SIGKILL
 * (`crash()`).
 *
 * rsyslog comes from the Debian packages `rsyslog`, `rsyslog-gnutls` and
 * `rsyslog-relp` (installed by `sh scripts/setup.sh --with-test-deps`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SensorError } from '../../src/errors.js';
import { NdjsonTail } from '../helpers/ndjson-tail.js';

/** One generous deadline for rsyslog to start and to receive (a loaded 2-core machine). */
const WAIT_MS = 60_000;

/** One message as rsyslog parsed it. */
export interface ReceivedMessage {
  pri: string;
  hostname: string;
  app: string;
  procid: string;
  msgid: string;
  time: string;
  msg: string;
  input: string;
}

export interface RsyslogTls {
  ca: string;
  cert: string;
  key: string;
}

export interface RsyslogOptions {
  tcp?: boolean;
  udp?: boolean;
  tls?: RsyslogTls;
  /** An imrelp input (RELP). */
  relp?: boolean;
  /** Reuse ports (restart on the same address). */
  ports?: { tcp?: number; udp?: number; tls?: number; relp?: number };
  /** rsyslog's own message size limit (default 64k). */
  maxMessageSize?: string;
}

export interface Rsyslog {
  pid: number;
  dir: string;
  ports: { tcp?: number; udp?: number; tls?: number; relp?: number };
  /** Everything received so far. */
  received(): ReceivedMessage[];
  /** Wait until at least `n` messages arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  stop(): Promise<void>;
  /** SIGKILL rsyslog and wait for its exit; what it wrote stays readable until stop(). */
  crash(): Promise<void>;
}

export function rsyslogdPath(): string | undefined {
  for (const p of ['/usr/sbin/rsyslogd', '/sbin/rsyslogd']) if (existsSync(p)) return p;
  return undefined;
}

export async function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

/** Is something bound to 127.0.0.1:port (TCP listening, or UDP)? Reads /proc/net. */
function bound(proto: 'tcp' | 'udp', port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const text = readFileSync(`/proc/net/${proto}`, 'utf8');
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    if (f[1] === `0100007F:${hex}` && (proto === 'udp' || f[3] === '0A')) return true;
  }
  return false;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A throw-away CA and a server certificate for 127.0.0.1/localhost, made with the openssl CLI. */
export function makeTestCertificates(dir: string): RsyslogTls {
  const run = (args: string[]): void => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new SensorError('ESENSOR_SERVICE', `openssl ${args[0]} failed: ${r.error?.message ?? r.stderr}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=ebpf-sensor test CA']);
  run(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext']);
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key') };
}

/** Start rsyslog in the foreground with its own configuration on loopback. */
export async function startRsyslog(opts: RsyslogOptions): Promise<Rsyslog> {
  const bin = rsyslogdPath();
  if (!bin) throw new SensorError('ESENSOR_SERVICE', 'rsyslogd is not installed (sh scripts/setup.sh --with-test-deps installs it)');
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-rsyslog-'));
  const out = join(dir, 'received.json');
  const ports: Rsyslog['ports'] = {};
  if (opts.tcp) ports.tcp = opts.ports?.tcp ?? (await freeTcpPort());
  if (opts.udp) ports.udp = opts.ports?.udp ?? (await freeUdpPort());
  if (opts.tls) ports.tls = opts.ports?.tls ?? (await freeTcpPort());
  if (opts.relp) ports.relp = opts.ports?.relp ?? (await freeTcpPort());
  const tlsGlobals = opts.tls
    ? ` defaultNetstreamDriverCAFile="${opts.tls.ca}" defaultNetstreamDriverCertFile="${opts.tls.cert}" defaultNetstreamDriverKeyFile="${opts.tls.key}"`
    : '';
  const conf = [
    `global(workDirectory="${dir}" maxMessageSize="${opts.maxMessageSize ?? '64k'}"${tlsGlobals})`,
    opts.tcp || opts.tls ? 'module(load="imtcp" maxSessions="100")' : '',
    opts.udp ? 'module(load="imudp")' : '',
    opts.relp ? 'module(load="imrelp")' : '',
    'template(name="json" type="list" option.jsonf="on") {',
    '  property(outname="pri" name="pri" format="jsonf")',
    '  property(outname="hostname" name="hostname" format="jsonf")',
    '  property(outname="app" name="app-name" format="jsonf")',
    '  property(outname="procid" name="procid" format="jsonf")',
    '  property(outname="msgid" name="msgid" format="jsonf")',
    '  property(outname="time" name="timereported" dateFormat="rfc3339" format="jsonf")',
    '  property(outname="input" name="inputname" format="jsonf")',
    '  property(outname="msg" name="msg" format="jsonf")',
    '}',
    // Direct queues: the action runs before imrelp answers, so an acknowledged message is in the file.
    `ruleset(name="out" queue.type="direct") { action(type="omfile" file="${out}" template="json" flushOnTXEnd="on") }`,
    ports.tcp ? `input(type="imtcp" address="127.0.0.1" port="${ports.tcp}" ruleset="out" name="tcp")` : '',
    ports.udp ? `input(type="imudp" address="127.0.0.1" port="${ports.udp}" ruleset="out" name="udp")` : '',
    ports.relp ? `input(type="imrelp" address="127.0.0.1" port="${ports.relp}" ruleset="out" name="relp")` : '',
    ports.tls
      ? `input(type="imtcp" address="127.0.0.1" port="${ports.tls}" ruleset="out" name="tls" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")`
      : '',
  ]
    .filter(Boolean)
    .join('\n');
  const confPath = join(dir, 'rsyslog.conf');
  writeFileSync(confPath, `${conf}\n`);
  const pidFile = join(dir, 'rsyslogd.pid');
  const child: ChildProcess = spawn(bin, ['-n', '-f', confPath, '-i', pidFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));
  const pid = child.pid;
  if (pid === undefined) throw new SensorError('ESENSOR_SERVICE', `rsyslogd did not start: ${stderr}`);

  const stop = async (): Promise<void> => {
    if (!exited) {
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      process.kill(pid, 'SIGTERM');
      const killed = await Promise.race([gone.then(() => true), sleep(5000).then(() => false)]);
      if (!killed && !exited) {
        process.kill(pid, 'SIGKILL');
        await gone;
      }
    }
  };

  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const ready =
      (ports.tcp === undefined || bound('tcp', ports.tcp)) &&
      (ports.tls === undefined || bound('tcp', ports.tls)) &&
      (ports.relp === undefined || bound('tcp', ports.relp)) &&
      (ports.udp === undefined || bound('udp', ports.udp));
    if (ready) break;
    if (exited || Date.now() > deadline) {
      await stop();
      throw new SensorError('ESENSOR_SERVICE', `rsyslogd did not open its ports within ${WAIT_MS / 1000} s: ${stderr.trim() || '(no output)'}`);
    }
    await sleep(25);
  }

  // rsyslog may be in the middle of writing a line: only complete lines count (issue-12).
  const tail = new NdjsonTail<ReceivedMessage>(out);
  const received = (): ReceivedMessage[] => {
    tail.read();
    return tail.docs.slice();
  };
  return {
    pid,
    dir,
    ports,
    received,
    async waitFor(n: number, timeoutMs = WAIT_MS): Promise<ReceivedMessage[]> {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const r = received();
        if (r.length >= n) return r;
        if (Date.now() > until) throw new Error(`rsyslog received ${r.length} of ${n} messages within ${timeoutMs} ms: ${stderr.trim()}`);
        await sleep(25);
      }
    },
    async crash(): Promise<void> {
      if (exited) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      process.kill(pid, 'SIGKILL');
      await gone;
    },
    async stop(): Promise<void> {
      tail.close();
      await stop();
      if (process.env.KEEP_RSYSLOG_DIR !== '1') rmSync(dir, { recursive: true, force: true });
    },
  };
}
