/**
 * Live-kernel test harness: runs the real `ebpf-sensor run` (CLI, full
 * pipeline) as a child process writing NDJSON to a file, and lets a test wait
 * for the events its own real syscalls cause.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bpfUnavailableReason } from '../../src/sources/kernel/preflight.js';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import { validateEcs } from '../helpers/ecs-validator.js';
import assert from 'node:assert/strict';

export type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Why live tests must skip here, or false. Printed by node:test as the skip reason. */
export function skipReason(): string | false {
  const r = bpfUnavailableReason();
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
  /** Wait until a document matches (polls the output file). */
  waitFor(pred: (d: Doc) => boolean, timeoutMs?: number, what?: string): Promise<Doc>;
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
    const t = setTimeout(() => reject(new Error(`sensor did not start within 30 s; stderr:\n${err}`)), 30000);
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
  let cache: Doc[] = [];
  let consumed = 0;
  const docs = (): Doc[] => {
    if (!existsSync(outFile)) return cache;
    const buf = readFileSync(outFile);
    const end = buf.lastIndexOf(10) + 1;
    if (end > consumed) {
      for (const line of buf.subarray(consumed, end).toString('utf8').split('\n')) if (line) cache.push(JSON.parse(line) as Doc);
      consumed = end;
    }
    return cache;
  };
  return {
    proc,
    outFile,
    stderr: () => err,
    docs,
    async waitFor(pred, timeoutMs = 10000, what = 'matching event') {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = docs().find(pred);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms (${docs().length} events seen)`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop(signal: NodeJS.Signals = 'SIGINT') {
      if (proc.exitCode === null) proc.kill(signal);
      const code = await exited;
      cache = [];
      consumed = 0;
      docs();
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
