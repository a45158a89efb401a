/**
 * The OpenTelemetry Collector for the integration tests: Splunk HEC in
 * (splunkhecreceiver, token checked by bearertokenauthextension with scheme
 * `Splunk`, indexer acknowledgement by ackextension), OTLP in (otlpreceiver,
 * HTTP), and every record written by the file exporter as OTLP JSON lines so
 * tests read exactly what arrived.
 *
 * Built once with the OpenTelemetry Collector Builder from Go modules
 * (manifest: test/services/otelcol/builder-config.yaml; builder and contrib
 * components v0.158.0, core v1.64.0). The binary, the builder, Go's module
 * and build caches live under ~/.cache/ebpf-sensor (EBPF_SENSOR_TEST_CACHE),
 * keyed by the manifest's hash: a cold build takes minutes, a warm start
 * none. Go >= 1.25: EBPF_SENSOR_TEST_GO, `go` on PATH or /usr/local/go/bin/go
 * (scripts/setup.sh --with-test-deps checks for one).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { request } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SensorError } from '../../src/errors.js';
import { serviceRecord, type ServiceRecord } from './state.js';

/** Builder and contrib component version (core modules are v1.64.0). */
export const DEFAULT_OTELCOL_VERSION = '0.158.0';
/** The HEC token the test collector accepts (a test secret, loopback only). */
export const TEST_HEC_TOKEN = '6a2e7c1d-0b8f-4c55-9d1e-3f7a2b9c4e10';
/** The binary's name (dist.name of the manifest). */
const BINARY = 'otelcol-ebpf-test';

/** The builder manifest (this file runs from dist/test/services/). */
export function manifestPath(): string {
  return fileURLToPath(new URL('../../../test/services/otelcol/builder-config.yaml', import.meta.url));
}

function cacheRoot(): string {
  return process.env.EBPF_SENSOR_TEST_CACHE || join(homedir(), '.cache', 'ebpf-sensor');
}

/** The Go toolchain to build with (>= 1.25, what the components need), or undefined. */
export function findGo(): string | undefined {
  const candidates = [
    process.env.EBPF_SENSOR_TEST_GO,
    'go',
    '/usr/local/go/bin/go',
  ].filter((c): c is string => !!c);
  for (const c of candidates) {
    const r = spawnSync(c, ['env', 'GOVERSION'], { encoding: 'utf8' });
    const m = /^go(\d+)\.(\d+)/.exec(r.stdout ?? '');
    if (r.status === 0 && m && (Number(m[1]) > 1 || Number(m[2]) >= 25)) return c;
  }
  return undefined;
}

function executable(f: string): boolean {
  try {
    accessSync(f, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function run(what: string, command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string, logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fd = openSync(logFile, 'a');
    const p = spawn(command, args, { cwd, env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    p.on('error', (e) => reject(new SensorError('ESENSOR_SERVICE', `${what}: cannot run ${command}: ${e.message}`, { cause: e })));
    p.on('close', (code) => {
      if (code === 0) return resolve();
      let tail = '';
      try {
        tail = readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
      } catch {
        // no log
      }
      reject(new SensorError('ESENSOR_SERVICE', `${what} failed (exit ${code}); log ${logFile}:\n${tail}`));
    });
  });
}

export interface CollectorBuild {
  binary: string;
  /** True when this call built it (false: cached). */
  built: boolean;
  ms: number;
}

/** The collector binary for `version`, built with the builder when not cached. */
export async function buildCollector(version: string, say: (line: string) => void = () => undefined): Promise<CollectorBuild> {
  const t0 = Date.now();
  const manifest = readFileSync(manifestPath(), 'utf8').replaceAll('v0.158.0', `v${version}`);
  const hash = createHash('sha256').update(manifest).digest('hex').slice(0, 12);
  const root = cacheRoot();
  const outDir = join(root, 'otelcol', `${version}-${hash}`);
  const binary = join(outDir, BINARY);
  if (executable(binary)) return { binary, built: false, ms: Date.now() - t0 };
  const go = findGo();
  if (!go) {
    throw new SensorError('ESENSOR_SERVICE', 'building the OpenTelemetry Collector needs Go (>= 1.25): run scripts/setup.sh --with-test-deps, or set EBPF_SENSOR_TEST_GO');
  }
  const goRoot = join(root, 'go');
  const bin = join(goRoot, `bin-builder-${version}`);
  mkdirSync(bin, { recursive: true });
  mkdirSync(join(root, 'otelcol'), { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${join(go, '..')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    GOMODCACHE: join(goRoot, 'mod'),
    GOCACHE: join(goRoot, 'build'),
    GOPATH: join(goRoot, 'path'),
    GOBIN: bin,
    // Module cache files writable, so the cache can be removed with rm -rf.
    GOFLAGS: '-modcacherw',
    CGO_ENABLED: '0',
  };
  const logFile = join(root, 'otelcol', `build-${version}-${hash}.log`);
  writeFileSync(logFile, '');
  const builder = join(bin, 'builder');
  if (!executable(builder)) {
    say(`installing the OpenTelemetry Collector Builder v${version} (go install)`);
    await run('go install builder', go, ['install', `go.opentelemetry.io/collector/cmd/builder@v${version}`], env, root, logFile);
  }
  const tmp = `${outDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const manifestFile = join(tmp, 'builder-config.yaml');
  writeFileSync(manifestFile, manifest.replace(/output_path: .*/, `output_path: ${tmp}`));
  say(`building the OpenTelemetry Collector ${version} (splunkhecreceiver, otlpreceiver, fileexporter; a few minutes the first time, cached in ${outDir})`);
  await run('OpenTelemetry Collector Builder', builder, ['--config', manifestFile], env, tmp, logFile);
  if (!executable(join(tmp, BINARY))) throw new SensorError('ESENSOR_SERVICE', `the builder ran but ${join(tmp, BINARY)} is missing; log ${logFile}`);
  try {
    renameSync(tmp, outDir);
  } catch {
    // Another run built it meanwhile: use theirs.
    rmSync(tmp, { recursive: true, force: true });
  }
  return { binary, built: true, ms: Date.now() - t0 };
}

export interface OtelcolPrepareOptions {
  name: string;
  version: string;
  dir: string;
  /** Splunk HEC port. */
  port: number;
  /** OTLP/HTTP port. */
  otlpPort: number;
}

/** The collector configuration: HEC (token + acks) and OTLP/HTTP in, one file per receiver out. */
export function collectorConfig(o: { hecPort: number; otlpPort: number; outDir: string; token: string }): string {
  return `# written by test/services/otelcol-service.ts
extensions:
  bearertokenauth/hec:
    scheme: "Splunk"
    token: "${o.token}"
  ack:
receivers:
  splunk_hec:
    endpoint: 127.0.0.1:${o.hecPort}
    auth:
      authenticator: bearertokenauth/hec
    ack:
      extension: ack
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${o.otlpPort}
exporters:
  file/hec:
    path: ${join(o.outDir, 'hec.jsonl')}
    # Keep what arrived before a restart (outage tests): the default truncates at start.
    append: true
    flush_interval: 50ms
  file/otlp:
    path: ${join(o.outDir, 'otlp.jsonl')}
    append: true
    flush_interval: 50ms
service:
  extensions: [bearertokenauth/hec, ack]
  telemetry:
    metrics:
      level: none
    logs:
      level: info
  pipelines:
    logs/hec:
      receivers: [splunk_hec]
      exporters: [file/hec]
    logs/otlp:
      receivers: [otlp]
      exporters: [file/otlp]
`;
}

/** Writes the configuration into `dir` and returns the record (not started yet). */
export function prepareCollector(o: OtelcolPrepareOptions, binary: string): Omit<ServiceRecord, 'timings'> {
  const outDir = join(o.dir, 'out');
  mkdirSync(outDir, { recursive: true });
  const config = join(o.dir, 'config.yaml');
  writeFileSync(config, collectorConfig({ hecPort: o.port, otlpPort: o.otlpPort, outDir, token: TEST_HEC_TOKEN }));
  const logFile = join(o.dir, 'otelcol.log');
  return serviceRecord({
    name: o.name,
    kind: 'otelcol',
    version: o.version,
    port: o.port,
    otherPorts: { otlpHttp: o.otlpPort },
    dir: o.dir,
    dataDir: outDir,
    logFile,
    launch: { command: binary, args: ['--config', `file:${config}`], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: o.dir }, cwd: o.dir, logFile },
  });
}

function get(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = request(url, { method: 'GET', headers, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', reject);
    r.end();
  });
}

/** One readiness probe: the HEC health endpoint answers 200 and the OTLP port answers at all. */
export async function collectorAnswers(rec: Pick<ServiceRecord, 'address' | 'otherPorts'>): Promise<void> {
  const s = await get(`${rec.address}/services/collector/health`, { authorization: `Splunk ${TEST_HEC_TOKEN}` });
  if (s !== 200) throw new Error(`HEC health answered ${s}`);
  await get(`http://127.0.0.1:${rec.otherPorts.otlpHttp}/v1/logs`, {});
}

/** Files the collector writes what it received to. */
export function collectorOutputs(rec: Pick<ServiceRecord, 'dataDir'>): { hec: string; otlp: string } {
  return { hec: join(rec.dataDir, 'hec.jsonl'), otlp: join(rec.dataDir, 'otlp.jsonl') };
}

/** Whether a built collector is cached (for setup messages). */
export function collectorCached(version: string): boolean {
  const manifest = readFileSync(manifestPath(), 'utf8').replaceAll('v0.158.0', `v${version}`);
  const hash = createHash('sha256').update(manifest).digest('hex').slice(0, 12);
  return existsSync(join(cacheRoot(), 'otelcol', `${version}-${hash}`, BINARY));
}
