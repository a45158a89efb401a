/**
 * Live-kernel test harness: runs the real `ebpf-sensor run` (CLI, full
 * pipeline) as a child process writing NDJSON to a file, and lets a test wait
 * for the events its own real syscalls cause.
 */
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bpfUnavailableReason } from '../../src/sources/kernel/preflight.js';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import { validateEcs } from '../helpers/ecs-validator.js';
import { NdjsonTail } from '../helpers/ndjson-tail.js';
import assert from 'node:assert/strict';

export type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Default wait for an event once the sensor has caught up with the machine (generous: a loaded 2-core CI box). */
export const WAIT_MS = 30_000;
/** The sensor counts as caught up once it wrote a document stamped this long after the wait began. */
const CAUGHT_UP_MS = 1000;
/** Longest wait for the sensor to start (BPF verification of every program takes seconds, more on a loaded machine). */
const START_MS = 180_000;
/** Longest wait for a sensor that is still behind a burst of activity. */
const LAG_CAP_MS = 300_000;

/**
 * Why live tests must skip here, or false. Printed by node:test as the skip
 * reason. Skips only when BPF truly cannot run: not root, no BTF or a kernel
 * too old (preflight), or a kernel that refuses BPF program loads outright
 * (EPERM/EACCES on a 2-instruction program). Any other preflight error is
 * thrown, which fails the test file (issue-12).
 */
export function skipReason(): string | false {
  let r = bpfUnavailableReason();
  if (!r) {
    const probe = trigger('bpf-prog', 'se_probe');
    if (probe.ret < 0 && (probe.errno === 1 || probe.errno === 13)) r = `the kernel refuses BPF program loads (errno ${probe.errno})`;
  }
  if (r) {
    console.log(`# kernel tests skipped: ${r}`);
    return `BPF unavailable: ${r}`;
  }
  return false;
}

export interface LiveSensor {
  proc: ChildProcess;
  outFile: string;
  stderr: () => string;
  /** All documents written so far. */
  docs(): Doc[];
  /**
   * Wait until a document matches (polls the output file). Fails once timeoutMs
   * passed and the sensor has caught up with the time of the call, or when it exits.
   */
  waitFor(pred: (d: Doc) => boolean, timeoutMs?: number, what?: string): Promise<Doc>;
  /** Wait until the sensor has written a document stamped after this call (it read the ring past now). */
  caughtUp(): Promise<void>;
  /** SIGINT and wait for a clean exit; returns the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * `opts.bin`: the ebpf-sensor entry point to run (default: this checkout's
 * bin/ebpf-sensor.js; an installed package's to test it). `opts.wrap`: a
 * command that execs the sensor (setpriv, unshare …), argv before node.
 */
export async function startSensor(extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}, opts: { bin?: string; wrap?: string[] } = {}): Promise<LiveSensor> {
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-live-'));
  const outFile = join(dir, 'events.ndjson');
  const argv = [process.execPath, opts.bin ?? join(packageRoot, 'bin/ebpf-sensor.js'), 'run', '--output', `file:${outFile}`, ...extraArgs];
  const [cmd, ...args] = [...(opts.wrap ?? []), ...argv];
  const proc = spawn(cmd!, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own journal and any free metrics port: live tests never share state with another sensor on the machine.
    env: { ...process.env, EBPF_SENSOR_LOG_LEVEL: 'info', EBPF_SENSOR_JOURNAL__DIR: join(dir, 'journal'), EBPF_SENSOR_METRICS__PORT: '0', ...env },
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  proc.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`sensor did not start within ${START_MS / 1000} s; stderr:\n${err}`)), START_MS);
    const check = (): void => {
      if (/ebpf-sensor [\d.]+ running/.test(err)) {
        clearTimeout(t);
        resolve();
      }
    };
    proc.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(t);
      reject(new Error(`sensor exited with ${code} before running; stderr:\n${err}`));
    });
  });
  let tail = new NdjsonTail<Doc>(outFile);
  /** Newest @timestamp (ms) among the documents read: how far the sensor has got. */
  let newest = 0;
  const docs = (): Doc[] => {
    for (const d of tail.read()) {
      const ts = typeof d['@timestamp'] === 'string' ? Date.parse(d['@timestamp']) : NaN;
      if (ts > newest) newest = ts;
    }
    return tail.docs;
  };
  return {
    proc,
    outFile,
    stderr: () => err,
    docs,
    async waitFor(pred, timeoutMs = WAIT_MS, what = 'matching event') {
      // The event waited for happened before this call. Once the sensor has
      // written a document stamped CAUGHT_UP_MS after the call, it has read
      // the ring past that event (one ring, read in order), so after
      // timeoutMs a miss is a miss. A sensor still behind a burst of other
      // activity on the machine is waited for (up to LAG_CAP_MS): its lag is
      // load, not a wrong result.
      const since = Date.now();
      let scanned = 0;
      let poked = 0;
      for (;;) {
        const all = docs();
        for (; scanned < all.length; scanned++) if (pred(all[scanned]!)) return all[scanned]!;
        const now = Date.now();
        const caughtUp = newest >= since + CAUGHT_UP_MS;
        if (proc.exitCode !== null || proc.signalCode !== null) {
          throw new Error(`no ${what}: the sensor exited (${proc.exitCode ?? proc.signalCode}) after ${all.length} events; stderr:\n${err.slice(-4000)}`);
        }
        if (now - since > timeoutMs && caughtUp) {
          throw new Error(`no ${what} within ${timeoutMs} ms although the sensor has caught up (${all.length} events seen)`);
        }
        if (now - since > LAG_CAP_MS) {
          throw new Error(`no ${what} within ${LAG_CAP_MS} ms; the sensor is ${since - newest} ms behind (${all.length} events seen)`);
        }
        if (now - since > timeoutMs && now - poked > 2000) {
          // A quiet machine: make an event (an exec) so progress shows.
          poked = now;
          execFile('/bin/true', () => {});
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async caughtUp() {
      const since = Date.now();
      let poked = 0;
      for (;;) {
        docs();
        if (newest >= since + CAUGHT_UP_MS) return;
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`the sensor exited (${proc.exitCode ?? proc.signalCode}); stderr:\n${err.slice(-4000)}`);
        const now = Date.now();
        if (now - since > LAG_CAP_MS) throw new Error(`the sensor is still ${since - newest} ms behind after ${LAG_CAP_MS} ms`);
        if (now - since > CAUGHT_UP_MS && now - poked > 1000) {
          poked = now;
          execFile('/bin/true', () => {});
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop(signal: NodeJS.Signals = 'SIGINT') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const code = await exited;
      // Read the file again from its start: everything the sensor flushed on exit.
      tail.close();
      tail = new NdjsonTail<Doc>(outFile);
      newest = 0;
      docs();
      tail.close();
      return code;
    },
  };
}

/** Compile test/kernel/trigger.c once (cached by source hash) and return its path. */
export function triggerBinary(): string {
  const src = join(packageRoot, 'test/kernel/trigger.c');
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 12);
  const bin = join(tmpdir(), `ebpf-sensor-trigger-${hash}`);
  if (!existsSync(bin)) {
    execFileSync('cc', ['-O1', '-Wall', '-o', `${bin}.tmp`, src, '-lpthread'], { stdio: 'pipe' });
    renameSync(`${bin}.tmp`, bin);
  }
  return bin;
}

export interface TriggerResult {
  op: string;
  pid: number;
  tid: number;
  ret: number;
  errno: number;
  [k: string]: unknown;
}

/** Run one trigger op; returns what it printed. */
export function trigger(...args: string[]): TriggerResult {
  const out = execFileSync(triggerBinary(), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const line = out.trim().split('\n').pop()!;
  return JSON.parse(line) as TriggerResult;
}

/** Every document validates against ECS 9.4 (the violations of the first ten are shown). */
export function assertEcsValid(docs: Doc[]): void {
  assert.ok(docs.length > 0, 'documents to check');
  const bad: string[] = [];
  for (const d of docs) {
    const v = validateEcs(d);
    if (v.length) bad.push(`${d.event?.action}: ${v.slice(0, 3).join('; ')}`);
  }
  assert.deepEqual(bad.slice(0, 10), [], `${bad.length} of ${docs.length} documents violate ECS`);
}
