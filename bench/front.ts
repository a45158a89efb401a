/**
 * The front of the live hot path, stage by stage, on a fork storm's records
 * (fork + exit of N children of this process, root with every capability, as
 * bench/pipeline-storm.ts lays them out): decode, enrich (table seeded from
 * /proc, names, containers), the bundled rules, and the ECS line. Prints, per
 * event and stage, CPU µs and bytes allocated (V8's sampling heap profiler,
 * counting what was collected too), and the share of the run's CPU that went
 * to GC pauses. Asserts nothing.
 *
 *   node dist/bench/front.js [--forks 10000] [--rounds 6] [--compare ROOT]... [--by-function]
 *        [--storm fork|write|exec]
 *
 * --storm write: instead of fork + exit pairs, the live write storm's opens
 * (O_WRONLY|O_CREAT of DIR/f<i%64> by this process, path resolved in the
 * kernel), two per "fork" so the counts match.
 *
 * --storm exec: the live exec storm's records (posix_spawn of /bin/true and
 * waitpid, bench/storm.c): per "fork" a fork of this process, the child's
 * exec of /bin/true (its argv, cwd and executable as the kernel gives them)
 * and its exit, three events.
 *
 * --compare ROOT runs the same records through the stages built in ROOT
 * (another checkout's dist/, e.g. a base build of main), alternating with
 * this tree's in child processes of one invocation: on a shared machine only
 * the ratios within one invocation mean something.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { dirname, join, resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EventType, Syscall } from '../src/decode/abi.generated.js';
import { buildRecord, frames } from '../test/helpers/record-builder.js';
import { asRootTask, selfTask } from './self-task.js';

const { values } = parseArgs({
  options: {
    forks: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '6' },
    root: { type: 'string' },
    'by-function': { type: 'boolean', default: false },
    compare: { type: 'string', multiple: true, default: [] },
    repeat: { type: 'string', default: '3' },
    storm: { type: 'string', default: 'fork' },
  },
});
const here = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

if (values.compare && values.compare.length > 0) {
  // Parent: alternate the builds, `repeat` times each, and print each run's line.
  const roots: Array<[string, string]> = [['this', here], ...values.compare.map((r, i): [string, string] => [`compare${i + 1}`, resolve(r)])];
  const script = fileURLToPath(import.meta.url);
  for (let i = 0; i < Number(values.repeat); i++) {
    for (const [name, root] of roots) {
      const out = execFileSync(process.execPath, [script, '--root', root, '--forks', values.forks!, '--rounds', values.rounds!, '--storm', values.storm!], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      console.log(`${name.padEnd(9)} ${out.trim().split('\n').pop()}`);
    }
  }
  process.exit(0);
}

const root = values.root ?? here;
const mod = async <T>(p: string): Promise<T> => (await import(join(root, 'dist', p))) as T;
type M = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const { decodeChunk } = await mod<M>('src/decode/decode.js');
const { Enricher } = await mod<M>('src/enrich/enrich.js');
const { loadRules } = await mod<M>('src/rules/engine.js');
const { ecsLine } = await mod<M>('src/normalize/ecs/ecs-serializer.js');
const { collectHostInfo, agentInfo } = await mod<M>('src/pipeline/host-info.js');

const forks = Number(values.forks);
const rounds = Number(values.rounds);
const { pid: me, ppid, sid, pgid, startNs, uptimeNs } = selfTask();
const withCaps = (rec: Buffer): Buffer => asRootTask(rec, sid, pgid);
/** The parent's start (as the table seeded from /proc has it): the write storm's opens name it. */
const parentStartNs = ((): bigint => {
  const st = readFileSync(`/proc/${ppid}/stat`, 'utf8');
  return BigInt(st.slice(st.lastIndexOf(')') + 2).split(' ')[19]!) * 10_000_000n;
})();

/** Round r's records: children with pids and starts of their own (new entities every round). */
function chunkOf(r: number): { chunk: Buffer; used: number } {
  const records: Buffer[] = [];
  let ts = uptimeNs + BigInt(r * forks) * 10_000_000n;
  if (values.storm === 'write') {
    // open(2) → openat: flags O_WRONLY|O_CREAT (0o101), mode 0644, dirfd AT_FDCWD, args[5] the syscall.
    for (let i = 0; i < forks * 2; i++) {
      ts += 50_000n;
      const path = `/tmp/ebpf-sensor-live-x/written/f${i % 64}`;
      records.push(withCaps(buildRecord({ type: EventType.SE_EV_OPEN, tsNs: ts, pid: me, tid: me, ppid, uid: 0, gid: 0, startNs, parentStartNs, comm: 'storm', ret: 3, args: [-100, 0o101, 0o644, 1000 + (i % 64), 0, Syscall.SE_SC_OPENAT], strs: [path, path] })));
    }
    return frames(records);
  }
  const exec = values.storm === 'exec';
  for (let i = 0; i < forks; i++) {
    const child = 5_000_000 + r * forks + i;
    const cstart = ts;
    ts += 50_000n;
    records.push(withCaps(buildRecord({ type: EventType.SE_EV_FORK, tsNs: ts, pid: me, tid: me, ppid, uid: 0, gid: 0, startNs, parentStartNs: 0n, comm: 'node', args: [child, child, cstart] })));
    if (exec) {
      // argc, dirfd, inode, dev, stdio (pipe, pipe, char), the syscall.
      ts += 50_000n;
      const stdio = 4 | (4 << 8) | (3 << 16);
      records.push(withCaps(buildRecord({ type: EventType.SE_EV_EXEC, tsNs: ts, pid: child, tid: child, ppid: me, uid: 0, gid: 0, startNs: cstart, parentStartNs: startNs, comm: 'true', args: [1, -100, 1234567, 0, stdio, Syscall.SE_SC_EXECVE], strs: ['/bin/true', '/bin/true\0', process.cwd(), '/usr/bin/true'] })));
    }
    ts += 50_000n;
    records.push(withCaps(buildRecord({ type: EventType.SE_EV_EXIT, tsNs: ts, pid: child, tid: child, ppid: me, uid: 0, gid: 0, startNs: cstart, parentStartNs: startNs, comm: exec ? 'true' : 'node', args: [0, 0] })));
  }
  return frames(records);
}

const host = collectHostInfo(undefined, '/');
const agent = agentInfo(host);
const engine = loadRules({ bundled: true, paths: [], lists: { sensor_pids: [String(process.pid)], sensor_paths: [] } });
const enricher = new Enricher({ hostId: host.id, seedFromProc: true, resolveContainers: true, resolveNames: true });
const ctx = { bootToRealtimeNs: BigInt(Date.now()) * 1_000_000n - uptimeNs, bootIdPrefix: host.boot_id.replace(/-/g, '').slice(0, 8), sequence: 0 };
const stats = { records: 0, errors: 0 };
const chunks = Array.from({ length: rounds + 2 }, (_, r) => chunkOf(r));

const SLICE = 256; // as the pipeline decodes a chunk: a slice at a time
const stages = ['decode', 'enrich', 'rules', 'ecs'] as const;
type Stage = (typeof stages)[number];
const cpu: Record<Stage, number> = { decode: 0, enrich: 0, rules: 0, ecs: 0 };
let current: Stage = 'decode';
let sink = 0;

function runRound(c: { chunk: Buffer; used: number }, timed: boolean): void {
  for (let off = 0; off < c.used; ) {
    let t = process.cpuUsage();
    const lap = (s: Stage): void => {
      if (!timed) return;
      const n = process.cpuUsage();
      cpu[s] += n.user - t.user + n.system - t.system;
      t = n;
    };
    current = 'decode';
    const events: unknown[] = [];
    off = decodeChunk(c.chunk, c.used, ctx, events, stats, off, SLICE);
    lap('decode');
    current = 'enrich';
    for (const ev of events) enricher.enrich(ev);
    enricher.table.expire();
    lap('enrich');
    current = 'rules';
    const classified = events.map((event) => ({ event, verdict: engine.classify(event) }));
    lap('rules');
    current = 'ecs';
    for (const ce of classified) sink += ecsLine(ce, host, agent).length;
    lap('ecs');
  }
}

// Warm-up rounds, then the timed ones with GC pauses observed.
runRound(chunks[0]!, false);
runRound(chunks[1]!, false);
let gcMs = 0;
const obs = new PerformanceObserver((l) => {
  for (const e of l.getEntries()) gcMs += e.duration;
});
obs.observe({ entryTypes: ['gc'] });
const all0 = process.cpuUsage();
for (let r = 0; r < rounds; r++) runRound(chunks[r + 2]!, true);
const all = process.cpuUsage(all0);
await new Promise((r) => setTimeout(r, 100)); // gc entries are delivered asynchronously
obs.disconnect();

// Allocation per stage: one more pass of fresh records, a stage at a time, each under V8's
// sampling heap profiler (which counts what was collected meanwhile too).
const s = new Session();
s.connect();
interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}
const sum = (h: HeapNode): number => h.children.reduce((a, c) => a + sum(c), h.selfSize);
/** --by-function: each stage's allocating functions, bytes per event, to stderr. */
const byFunction = process.argv.includes('--by-function');
async function allocated(fn: () => void): Promise<number> {
  await s.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  fn();
  const { profile } = (await s.post('HeapProfiler.stopSampling')) as { profile: { head: HeapNode } };
  if (byFunction) {
    const m = new Map<string, number>();
    const w = (h: HeapNode): void => {
      const k = `${h.callFrame.functionName || '(anonymous)'} ${h.callFrame.url.split('/').pop()}:${h.callFrame.lineNumber + 1}`;
      m.set(k, (m.get(k) ?? 0) + h.selfSize);
      h.children.forEach(w);
    };
    w(profile.head);
    for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, 12)) if (v) console.error(String(Math.round(v / (forks * (values.storm === 'exec' ? 3 : 2)))).padStart(7), k);
    console.error('--');
  }
  return sum(profile.head);
}
const extra = chunkOf(rounds + 2);
const bytes: Record<Stage, number> = { decode: 0, enrich: 0, rules: 0, ecs: 0 };
const decoded: unknown[] = [];
bytes.decode = await allocated(() => {
  for (let off = 0; off < extra.used; ) off = decodeChunk(extra.chunk, extra.used, ctx, decoded, stats, off, SLICE);
});
bytes.enrich = await allocated(() => {
  for (const ev of decoded) enricher.enrich(ev);
});
let classified: Array<{ event: unknown; verdict: unknown }> = [];
bytes.rules = await allocated(() => {
  classified = decoded.map((event) => ({ event, verdict: engine.classify(event) }));
});
bytes.ecs = await allocated(() => {
  for (const ce of classified) sink += ecsLine(ce, host, agent).length;
});
void current;

const perFork = values.storm === 'exec' ? 3 : 2;
const n = forks * perFork * rounds;
const per = (x: number): number => +(x / n).toFixed(2);
const total = all.user + all.system;
console.log(
  JSON.stringify({
    events: n,
    usPerEvent: { decode: per(cpu.decode), enrich: per(cpu.enrich), rules: per(cpu.rules), ecs: per(cpu.ecs), all: per(total) },
    bytesPerEvent: Object.fromEntries(stages.map((k) => [k, Math.round(bytes[k] / (forks * perFork))])),
    gcShare: +((gcMs * 1000) / total).toFixed(3),
    lineChars: Math.round(sink / (forks * perFork * (rounds + 3))),
  }),
);
