/**
 * Test services: real Kafka, Elasticsearch and OpenTelemetry Collector (Splunk
 * HEC + OTLP) servers on 127.0.0.1 for the integration suite.
 *
 * `startServices` fetches what is missing (Maven, cached in the local
 * repository; the collector is built with Go, cached in ~/.cache/ebpf-sensor), gives each server a free port and its own temporary
 * directory, starts them, waits until each answers (Kafka: a metadata
 * request; Elasticsearch: cluster health yellow) and records everything in a
 * state file. scripts/test.js does that once before the integration suite
 * (through cli.ts), hands the file to the test processes in
 * EBPF_SENSOR_TEST_SERVICES and calls `stopServices` at the end, whatever
 * happened. Tests read addresses with `loadServices()` & co. and simulate
 * outages with `stopService(name)` / `startService(name)`: same port, same
 * data directory, so clients reconnect and find their data.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, existsSync, mkdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SensorError } from '../../src/errors.js';
import { createElasticsearchClient, type NegotiatedClient } from '../../src/sinks/elasticsearch/es-client.js';
import {
  DEFAULT_ES8_VERSION,
  DEFAULT_ES_VERSION,
  elasticsearchAnswers,
  fetchElasticsearch,
  prepareElasticsearch,
} from './elasticsearch-service.js';
import { DEFAULT_KAFKA_VERSION, fetchKafka, kafkaAnswers, prepareKafka } from './kafka-service.js';
import { buildCollector, collectorAnswers, DEFAULT_OTELCOL_VERSION, prepareCollector } from './otelcol-service.js';
import { groupHandles, groupIntact, isRunning, launch, stopProcess } from './process-control.js';
import { readState, STATE_ENV, writeState, type ServiceRecord, type ServicesState } from './state.js';

export { STATE_ENV, type ServiceRecord, type ServicesState } from './state.js';

/** The services a run can hold, in start order. */
export const SERVICE_NAMES = ['kafka', 'elasticsearch', 'elasticsearch8', 'otelcol'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** Seconds each kind may take from launch to ready (2-core CI machines, servers starting side by side). */
const READY_TIMEOUT_MS = { kafka: 120_000, elasticsearch: 240_000, otelcol: 60_000 } as const;

export interface StartOptions {
  /** Where to write the state (its directory also holds the run's temporary directory). */
  stateFile: string;
  /** Start only these (default: all of SERVICE_NAMES). */
  only?: readonly ServiceName[];
  /** PID whose death makes the run stale (default: this process's parent). */
  owner?: number;
  /** Progress lines (default: stderr). */
  say?: (line: string) => void;
}

const defaultSay = (line: string): void => {
  process.stderr.write(`# services: ${line}\n`);
};

function versionOf(name: ServiceName): string {
  switch (name) {
    case 'kafka':
      return process.env.EBPF_SENSOR_TEST_KAFKA_VERSION || DEFAULT_KAFKA_VERSION;
    case 'elasticsearch':
      return process.env.EBPF_SENSOR_TEST_ES_VERSION || DEFAULT_ES_VERSION;
    case 'elasticsearch8':
      return process.env.EBPF_SENSOR_TEST_ES8_VERSION || DEFAULT_ES8_VERSION;
    case 'otelcol':
      return process.env.EBPF_SENSOR_TEST_OTELCOL_VERSION || DEFAULT_OTELCOL_VERSION;
  }
}

/** `n` distinct free TCP ports on 127.0.0.1 (all held open until every one is picked). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function tailOf(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** The last lines of each of a service's logs, for error messages. */
export function serviceLogs(rec: ServiceRecord, lines = 40): string {
  return rec.logFiles.map((f) => `--- ${f} (last ${lines} lines)\n${tailOf(f, lines)}`).join('\n');
}

function answers(rec: ServiceRecord): Promise<void> {
  if (rec.kind === 'otelcol') return collectorAnswers(rec);
  return rec.kind === 'kafka' ? kafkaAnswers(rec.address) : elasticsearchAnswers(rec.address);
}

/** Polls until `rec` answers; throws ESENSOR_SERVICE with its logs when it exits or the time is up. */
async function waitReady(rec: ServiceRecord): Promise<number> {
  const started = Date.now();
  const limit = READY_TIMEOUT_MS[rec.kind];
  let last: unknown;
  for (;;) {
    if (!rec.process || !isRunning(rec.process)) {
      throw new SensorError(
        'ESENSOR_SERVICE',
        `${rec.name} (${rec.kind} ${rec.version}) exited before it answered on ${rec.address}\n${serviceLogs(rec)}`,
      );
    }
    try {
      await answers(rec);
      return Date.now() - started;
    } catch (e) {
      last = e;
    }
    if (Date.now() - started > limit) {
      throw new SensorError(
        'ESENSOR_SERVICE',
        `${rec.name} (${rec.kind} ${rec.version}, pid ${rec.process.pid}) did not answer on ${rec.address} within ${limit / 1000} s ` +
          `(${rec.kind === 'kafka' ? 'metadata request' : rec.kind === 'otelcol' ? 'HEC health 200' : 'cluster health yellow'}; last error: ${(last as Error)?.message})\n${serviceLogs(rec)}`,
      );
    }
    await sleep(500);
  }
}

/** Launches a prepared (or stopped) service, records its PID at once, then waits until it answers. */
async function launchAndWait(stateFile: string, name: string): Promise<ServiceRecord> {
  const state = readState(stateFile);
  const rec = state.services[name]!;
  if (!(await portIsFree(rec.port))) {
    throw new SensorError('ESENSOR_SERVICE', `${name}: port ${rec.port} on 127.0.0.1 is taken by another process; cannot start ${rec.kind}`);
  }
  rec.process = await launch(rec.launch);
  delete rec.members;
  updateService(stateFile, rec);
  const ms = await waitReady(rec);
  rec.timings.readyMs.push(ms);
  rec.members = groupHandles(rec.process.pid);
  updateService(stateFile, rec);
  return rec;
}

// Each service's updates are written through a fresh read, so services
// starting side by side in one process do not overwrite each other.
function updateService(stateFile: string, rec: ServiceRecord): void {
  const state = readState(stateFile);
  state.services[rec.name] = rec;
  writeState(stateFile, state);
}

function ownerAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Stops the servers of earlier runs whose owner died without stopping them
 * (a killed test run), found by their state files next to `stateFile`.
 * Returns the state files it cleaned.
 */
export async function reapStaleRuns(stateFile: string, say = defaultSay): Promise<string[]> {
  const dir = dirname(stateFile);
  const cleaned: string[] = [];
  for (const e of readdirSync(dir)) {
    if (!/^ebpf-sensor-services-.*\.json$/.test(e)) continue;
    const file = join(dir, e);
    if (file === stateFile) continue;
    let state: ServicesState;
    try {
      state = readState(file);
    } catch {
      continue;
    }
    if (ownerAlive(state.owner)) continue;
    say(`stopping services left by dead run ${state.owner} (${file})`);
    await stopServices(file, { say });
    cleaned.push(file);
  }
  return cleaned;
}

/**
 * Starts the test services and writes `opts.stateFile`. On failure every
 * server already started is stopped again and the error names the service,
 * what it waited for and the tail of its logs.
 */
export async function startServices(opts: StartOptions): Promise<ServicesState> {
  const say = opts.say ?? defaultSay;
  const names = opts.only ?? SERVICE_NAMES;
  mkdirSync(dirname(opts.stateFile), { recursive: true });
  await reapStaleRuns(opts.stateFile, say);
  const runDir = mkdtempSync(join(dirname(opts.stateFile), 'ebpf-sensor-services-run-'));
  // Elasticsearch runs as another user and must reach its directory inside.
  chmodSync(runDir, 0o755);
  writeState(opts.stateFile, {
    format: 1,
    dir: runDir,
    owner: opts.owner ?? process.ppid,
    createdAt: new Date().toISOString(),
    services: {},
  });
  try {
    // Fetch one at a time: Maven's local repository is not safe for concurrent writers.
    const fetched = new Map<ServiceName, { artifact: string[]; fetchMs: number; downloaded: boolean }>();
    for (const name of names) {
      const t0 = Date.now();
      const version = versionOf(name);
      if (name === 'kafka') {
        const r = await fetchKafka(version);
        fetched.set(name, { artifact: r.jars, fetchMs: Date.now() - t0, downloaded: r.fetched });
      } else if (name === 'otelcol') {
        const r = await buildCollector(version, say);
        fetched.set(name, { artifact: [r.binary], fetchMs: r.ms, downloaded: r.built });
        say(`otelcol ${version}: ${r.built ? `built in ${(r.ms / 1000).toFixed(1)} s` : 'found built in the cache'}`);
        continue;
      } else {
        const r = await fetchElasticsearch(version, runDir);
        fetched.set(name, { artifact: [r.file], fetchMs: Date.now() - t0, downloaded: r.fetched });
      }
      const f = fetched.get(name)!;
      say(`${name} ${version}: ${f.downloaded ? `downloaded in ${(f.fetchMs / 1000).toFixed(1)} s` : 'found in the local Maven repository'}`);
    }
    const ports = await freePorts(names.length * 2);
    await Promise.all(
      names.map(async (name, i) => {
        const t0 = Date.now();
        const dir = join(runDir, name);
        mkdirSync(dir);
        const version = versionOf(name);
        const f = fetched.get(name)!;
        const [port, second] = [ports[2 * i]!, ports[2 * i + 1]!];
        const base =
          name === 'kafka'
            ? await prepareKafka({ name, version, dir, port, controllerPort: second }, f.artifact)
            : name === 'otelcol'
              ? prepareCollector({ name, version, dir, port, otlpPort: second }, f.artifact[0]!)
              : prepareElasticsearch({ name, version, dir, port, transportPort: second }, f.artifact[0]!);
        const rec: ServiceRecord = {
          ...base,
          timings: { fetchMs: f.fetchMs, downloaded: f.downloaded, prepareMs: Date.now() - t0, readyMs: [] },
        };
        updateService(opts.stateFile, rec);
        const started = await launchAndWait(opts.stateFile, name);
        say(
          `${name} ${version} ready on ${started.address} in ${(started.timings.readyMs[0]! / 1000).toFixed(1)} s ` +
            `(pid ${started.process!.pid}${started.javaVersion ? `, JDK ${started.javaVersion}` : ''}${started.runAs ? `, user ${started.runAs}` : ''})`,
        );
      }),
    );
    return readState(opts.stateFile);
  } catch (e) {
    say(`start failed: ${(e as Error).message.split('\n')[0]}; stopping what started`);
    await stopServices(opts.stateFile, { keep: true, say });
    throw e;
  }
}

export interface StopOptions {
  /** Keep the run's directory (data and logs) and the state file. */
  keep?: boolean;
  say?: (line: string) => void;
}

/** Stops every server recorded in `stateFile` (by PID), then removes the run's directory unless `keep`. */
export async function stopServices(stateFile: string, opts: StopOptions = {}): Promise<void> {
  const say = opts.say ?? defaultSay;
  if (!existsSync(stateFile)) return;
  const state = readState(stateFile);
  await Promise.all(
    Object.values(state.services).map(async (rec) => {
      if (!rec.process) return;
      const how = await stopProcess(rec.process);
      if (how !== 'not-running') say(`${rec.name} (pid ${rec.process.pid}) stopped${how === 'SIGKILL' ? ' (killed)' : ''}`);
      rec.process = null;
      updateService(stateFile, rec);
    }),
  );
  if (opts.keep) {
    say(`logs and data kept in ${state.dir}`);
    return;
  }
  rmSync(state.dir, { recursive: true, force: true });
  rmSync(stateFile, { force: true });
}

function stateFileFromEnv(): string {
  const file = process.env[STATE_ENV];
  if (!file) {
    throw new SensorError(
      'ESENSOR_SERVICE',
      `${STATE_ENV} is not set: run integration tests with "node scripts/test.js integration", or start the services with ` +
        `"node dist/test/services/cli.js start --state FILE" and export ${STATE_ENV}=FILE`,
    );
  }
  return file;
}

/** The state of the running services (from EBPF_SENSOR_TEST_SERVICES unless `file` is given). */
export function loadServices(file = stateFileFromEnv()): ServicesState {
  return readState(file);
}

/** The record of one service; throws naming the services that exist when it is not there. */
export function service(name: ServiceName, file = stateFileFromEnv()): ServiceRecord {
  const rec = readState(file).services[name];
  if (!rec) {
    throw new SensorError('ESENSOR_SERVICE', `no ${name} in ${file} (has: ${Object.keys(readState(file).services).join(', ') || 'none'})`);
  }
  return rec;
}

/** Kafka bootstrap brokers (`127.0.0.1:PORT`). */
export function kafkaBrokers(file?: string): string[] {
  return [service('kafka', file).address];
}

/** Elasticsearch node URL (`http://127.0.0.1:PORT`) of `name` (default: the 9.x node). */
export function elasticsearchNode(name: 'elasticsearch' | 'elasticsearch8' = 'elasticsearch', file?: string): string {
  return service(name, file).address;
}

/**
 * An `@elastic/elasticsearch` client for a test node, built by the sensor's
 * own version negotiation (src/sinks/elasticsearch/es-client.ts).
 */
export async function elasticsearchClient(name: 'elasticsearch' | 'elasticsearch8' = 'elasticsearch', file?: string): Promise<NegotiatedClient> {
  return createElasticsearchClient({ node: elasticsearchNode(name, file), requestTimeout: 30_000 });
}

/** Splunk HEC base URL of the test collector (`http://127.0.0.1:PORT`; the token is TEST_HEC_TOKEN). */
export function hecUrl(file?: string): string {
  return service('otelcol', file).address;
}

/** OTLP/HTTP logs URL of the test collector. */
export function otlpLogsUrl(file?: string): string {
  return `http://127.0.0.1:${service('otelcol', file).otherPorts.otlpHttp}/v1/logs`;
}

/** Stops one service by its recorded PID (an outage); its port and data directory stay reserved for `startService`. */
export async function stopService(name: ServiceName, file = stateFileFromEnv()): Promise<void> {
  const rec = service(name, file);
  if (!rec.process) return;
  await stopProcess(rec.process);
  rec.process = null;
  delete rec.members;
  updateService(file, rec);
}

/**
 * Starts a stopped service again on the same port with the same data;
 * resolves once it answers. What is left of a crashed one (a launcher whose
 * server JVM died, a server whose launcher died) is stopped first, by its
 * recorded process group (issue-12).
 */
export async function startService(name: ServiceName, file = stateFileFromEnv()): Promise<ServiceRecord> {
  const rec = service(name, file);
  if (rec.process && groupIntact(rec.process, rec.members)) return rec;
  if (rec.process) {
    await stopProcess(rec.process);
    rec.process = null;
    delete rec.members;
    updateService(file, rec);
  }
  return launchAndWait(file, name);
}

/** True while every recorded process of `name` runs. */
export function serviceRunning(name: ServiceName, file = stateFileFromEnv()): boolean {
  const rec = service(name, file);
  return rec.process !== null && groupIntact(rec.process, rec.members);
}

