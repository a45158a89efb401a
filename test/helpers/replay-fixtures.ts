/**
 * Fixtures for the capture and replay tests: capture files written by the
 * real writer, a memory sink that formats what it gets (ECS or CEF), a
 * replay wrapper, and event streams with the awkward cases the fast path
 * must get exactly right — events recorded without enrichment (no entity
 * ids, no executables), partly enriched ones, pid reuse, exits and forks.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeRecord, type DecodeContext } from '../../src/decode/decode.js';
import { EventType, Syscall } from '../../src/decode/abi.generated.js';
import { Enricher } from '../../src/enrich/enrich.js';
import type { AgentInfo, ClassifiedEvent, HostInfo, SensorEvent } from '../../src/model/event.js';
import { toEcs, ecsJson } from '../../src/normalize/ecs/ecs.js';
import { toCef } from '../../src/normalize/cef/cef.js';
import { replay, type ReplayOptions } from '../../src/pipeline/replay.js';
import type { ReplaySummary } from '../../src/pipeline/replay-summary.js';
import { CaptureWriter, type CaptureWriterOptions } from '../../src/sources/replay/capture-writer.js';
import type { Sink } from '../../src/sinks/sink.js';
import { HOST, AGENT } from './normalize-corpus.js';
import { buildRecord, sockaddrBlob } from './record-builder.js';

export { HOST, AGENT };

export function tempDir(prefix = 'ebpf-sensor-replay-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Write events to a new capture file and close it. */
export async function writeCapture(
  file: string,
  events: readonly SensorEvent[],
  opts: Partial<Omit<CaptureWriterOptions, 'header'>> & { host?: HostInfo; agent?: AgentInfo; lists?: Record<string, string[]> } = {},
): Promise<string> {
  const w = CaptureWriter.create(file, {
    header: { sensor: { version: '0.1.0' }, host: opts.host ?? HOST, agent: opts.agent ?? AGENT, source: { kind: 'live' }, lists: opts.lists ?? {} },
    ...(opts.blockBytes !== undefined ? { blockBytes: opts.blockBytes } : {}),
  });
  w.write(events);
  await w.close();
  return file;
}

/** A sink that keeps what it is sent, formatted as the line sinks would write it. */
export class MemorySink implements Sink {
  readonly name = 'memory';
  readonly lines: string[] = [];
  readonly events: ClassifiedEvent[] = [];
  constructor(
    private readonly host: HostInfo,
    private readonly agent: AgentInfo,
    private readonly format: 'ecs' | 'cef' = 'ecs',
  ) {}
  async send(batch: readonly ClassifiedEvent[]): Promise<void> {
    for (const ce of batch) {
      this.events.push(ce);
      this.lines.push(this.format === 'cef' ? toCef(ce, this.host, this.agent) : ecsJson(toEcs(ce, this.host, this.agent)));
    }
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

/** replay() into memory sinks (one per host, in order); returns every line and the summary. */
export async function replayToMemory(
  inputs: readonly string[],
  opts: Partial<Omit<ReplayOptions, 'inputs' | 'sinks' | 'localHost'>> & { format?: 'ecs' | 'cef' } = {},
): Promise<{ lines: string[]; events: ClassifiedEvent[]; summary: ReplaySummary }> {
  const sinks: MemorySink[] = [];
  const summary = await replay({
    inputs,
    rules: opts.rules ?? { bundled: true, paths: [] },
    events: opts.events ?? 'all',
    speed: opts.speed ?? 'max',
    skipBad: opts.skipBad ?? false,
    sinks: (host, agent) => {
      const s = new MemorySink(host, agent, opts.format);
      sinks.push(s);
      return [s];
    },
    localHost: () => ({ host: HOST, agent: AGENT }),
    ...(opts.since !== undefined ? { since: opts.since } : {}),
    ...(opts.until !== undefined ? { until: opts.until } : {}),
    ...(opts.filter !== undefined ? { filter: opts.filter } : {}),
    ...(opts.process !== undefined ? { process: opts.process } : {}),
    ...(opts.noFastPath !== undefined ? { noFastPath: opts.noFastPath } : {}),
    ...(opts.onDamage ? { onDamage: opts.onDamage } : {}),
  });
  return { lines: sinks.flatMap((s) => s.lines), events: sinks.flatMap((s) => s.events), summary };
}

/** mulberry32. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EXES = ['/usr/bin/bash', '/usr/bin/python3', '/usr/sbin/nginx', '/usr/bin/cat', '/dev/shm/.x', '/usr/sbin/useradd', '/tmp/dropper', '/usr/bin/nc'];
const PATHS = ['/etc/shadow', '/etc/passwd', '/etc/hosts', '/usr/lib/x86_64-linux-gnu/libc.so.6', '/var/log/auth.log', '/home/u/notes', '/root/.ssh/authorized_keys', '/etc/cron.d/job'];

/**
 * Events as the decoder makes them from kernel records — not enriched, or
 * (with `liveEnrich`) some of them enriched by a separate "live" enricher
 * that saw only those: the mix of complete and incomplete process facts a
 * capture can hold. Processes start, fork, exec, act and exit; pids are
 * reused with new start times.
 */
export function rawEvents(seed: number, n: number, liveEnrich = 0): SensorEvent[] {
  const rnd = prng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const ctx: DecodeContext = { bootToRealtimeNs: 1_763_900_000_000_000_000n, bootIdPrefix: 'cafef00d', sequence: 0 };
  const live = new Enricher({ hostId: HOST.id, seedFromProc: false, resolveContainers: false, resolveNames: false });
  interface P {
    pid: number;
    ppid: number;
    start: bigint;
    pstart: bigint;
    comm: string;
    uid: number;
  }
  const procs: P[] = [];
  let clock = 5_000_000_000n;
  const out: SensorEvent[] = [];
  const rec = (p: P, type: number, spec: { ret?: number; args?: Array<number | bigint>; strs?: Array<string | Buffer | null>; flags?: number }): void => {
    clock += BigInt(1 + Math.floor(rnd() * 3_000_000));
    const buf = buildRecord({ type, pid: p.pid, ppid: p.ppid, startNs: p.start, parentStartNs: p.pstart, comm: p.comm, uid: p.uid, tsNs: clock, ...spec });
    const ev = decodeRecord(buf, 0, buf.length, ctx);
    if (rnd() < liveEnrich) {
      live.enrich(ev);
      if (rnd() < 0.2) {
        // Recorded before the parent was known: the replay's table may fill it in.
        ev.process.parent.entity_id = '';
        delete ev.process.parent.executable;
        delete ev.process.parent.name;
      }
    }
    out.push(ev);
  };
  const init: P = { pid: 1, ppid: 0, start: 1_000_000_000n, pstart: 0n, comm: 'systemd', uid: 0 };
  procs.push(init);
  // Pids come from a small range, so they are reused.
  let nextPid = 200;
  const newPid = (): number => (nextPid = nextPid >= 260 ? 200 : nextPid + 1);
  while (out.length < n) {
    const r = rnd();
    const p = pick(procs);
    if (r < 0.12) {
      const child: P = { pid: newPid(), ppid: p.pid, start: clock + 1000n, pstart: p.start, comm: p.comm, uid: p.uid };
      rec(p, EventType.SE_EV_FORK, { args: [child.pid, child.pid, child.start] });
      procs.push(child);
      if (procs.length > 40) procs.splice(1, 1);
    } else if (r < 0.24) {
      const exe = pick(EXES);
      const fail = rnd() < 0.1;
      p.comm = exe.slice(exe.lastIndexOf('/') + 1).slice(0, 15);
      rec(p, EventType.SE_EV_EXEC, {
        ret: fail ? -2 : 0,
        args: [2, p.pid, 1000 + p.pid, 0, p.uid, Syscall.SE_SC_EXECVE],
        strs: [exe, `${exe}\0-${Math.floor(rnd() * 5)}\0`, rnd() < 0.8 ? '/root' : null, fail ? null : exe],
      });
    } else if (r < 0.32 && p.pid !== 1) {
      rec(p, EventType.SE_EV_EXIT, { args: [0, 0, 1] });
      procs.splice(procs.indexOf(p), 1);
    } else if (r < 0.75) {
      const path = pick(PATHS);
      const write = rnd() < 0.3;
      rec(p, EventType.SE_EV_OPEN, { ret: 3, args: [-100, write ? 0o2101 : 0o2000000, 0o644, 77, 0, Syscall.SE_SC_OPENAT], strs: [path, path, '/'] });
    } else if (r < 0.85) {
      rec(p, EventType.SE_EV_CONNECT, { args: [3, 1, 6], strs: [sockaddrBlob(2, 4444, [127, 0, 0, 1]), sockaddrBlob(2, 40000, [127, 0, 0, 1])] });
    } else if (r < 0.93) {
      rec(p, EventType.SE_EV_UNLINK, { args: [-100, 0, 0, 0, 0, Syscall.SE_SC_UNLINKAT], strs: [pick(PATHS), '/'] });
    } else {
      p.uid = rnd() < 0.5 ? 0 : 1000;
      rec(p, EventType.SE_EV_SETUID, { args: [p.uid, p.uid, p.uid, 0, 0, Syscall.SE_SC_SETRESUID], strs: [] });
    }
  }
  return out;
}
