/**
 * The state file of one run of the test services: where each server listens,
 * its PID, how to start it again, where its data and logs are. Written by the
 * process that starts the servers, read by every integration test process
 * (through EBPF_SENSOR_TEST_SERVICES) and by the final stop.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { SensorError } from '../../src/errors.js';
import type { LaunchSpec, ProcessHandle } from './process-control.js';

/** Environment variable that holds the state file's path for test processes. */
export const STATE_ENV = 'EBPF_SENSOR_TEST_SERVICES';

export type ServiceKind = 'kafka' | 'elasticsearch' | 'otelcol';

export interface ServiceTimings {
  /** Time spent fetching artifacts (zero when the local Maven repository had them). */
  fetchMs: number;
  /** Whether this run downloaded anything. */
  downloaded: boolean;
  /** Unpacking, configuring, formatting. */
  prepareMs: number;
  /** Launch-to-ready time of every start, the first one and each restart. */
  readyMs: number[];
}

export interface ServiceRecord {
  name: string;
  kind: ServiceKind;
  version: string;
  host: string;
  port: number;
  /** What clients use: `127.0.0.1:PORT` for Kafka, `http://127.0.0.1:PORT` for Elasticsearch. */
  address: string;
  /** Other ports the server binds (Kafka controller, Elasticsearch transport). */
  otherPorts: Record<string, number>;
  /** The service's temporary directory: data, logs, config. */
  dir: string;
  dataDir: string;
  /** The server's stdout/stderr. */
  logFile: string;
  /** Logs worth printing when the server fails (the first is `logFile`). */
  logFiles: string[];
  javaHome: string;
  javaVersion: string;
  /** The unprivileged user it runs as, when started by root. */
  runAs?: string;
  launch: LaunchSpec;
  /** The running process, or null while stopped. */
  process: ProcessHandle | null;
  /**
   * Every process of its group once it answered (Elasticsearch: the launcher
   * and the server JVM): the service counts as running only while all of them run.
   */
  members?: ProcessHandle[];
  timings: ServiceTimings;
}

/** What a launcher decides of its service's record; serviceRecord() adds what every service shares. */
export interface ServiceRecordParts extends Pick<ServiceRecord, 'name' | 'kind' | 'version' | 'port' | 'otherPorts' | 'dir' | 'dataDir' | 'logFile' | 'launch'> {
  /** What clients use; default `http://127.0.0.1:PORT`. */
  address?: string;
  /** Logs worth printing when the server fails, besides `logFile`. */
  moreLogs?: string[];
  /** The JDK it runs on (none for native servers). */
  jdk?: { home: string; version: string };
  runAs?: string;
}

/** The record of a prepared, not yet started service: on loopback, its logs, no process. */
export function serviceRecord(p: ServiceRecordParts): Omit<ServiceRecord, 'timings'> {
  return {
    name: p.name,
    kind: p.kind,
    version: p.version,
    host: '127.0.0.1',
    port: p.port,
    address: p.address ?? `http://127.0.0.1:${p.port}`,
    otherPorts: p.otherPorts,
    dir: p.dir,
    dataDir: p.dataDir,
    logFile: p.logFile,
    logFiles: [p.logFile, ...(p.moreLogs ?? [])],
    javaHome: p.jdk?.home ?? '',
    javaVersion: p.jdk?.version ?? '',
    ...(p.runAs !== undefined ? { runAs: p.runAs } : {}),
    launch: p.launch,
    process: null,
  };
}

export interface ServicesState {
  format: 1;
  /** The run's temporary directory (one subdirectory per service). */
  dir: string;
  /** PID of the process that owns the run (scripts/test.js); a run whose owner is gone is stale. */
  owner: number;
  createdAt: string;
  services: Record<string, ServiceRecord>;
}

/** Reads a state file; throws ESENSOR_SERVICE naming the file when it is missing or not a state. */
export function readState(file: string): ServicesState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SensorError('ESENSOR_SERVICE', `cannot read the test-services state ${file}: ${(e as Error).message}`, { file, cause: e });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new SensorError('ESENSOR_SERVICE', `${file} is not JSON: ${(e as Error).message}`, { file, cause: e });
  }
  const s = parsed as Partial<ServicesState>;
  if (s.format !== 1 || typeof s.dir !== 'string' || typeof s.services !== 'object' || s.services === null) {
    throw new SensorError('ESENSOR_SERVICE', `${file} is not a test-services state file (format 1)`, { file });
  }
  return s as ServicesState;
}

/** Writes the state atomically (a reader never sees half a file). */
export function writeState(file: string, state: ServicesState): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, file);
}
