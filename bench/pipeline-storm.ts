/**
 * The live sensor's user-space path without a kernel: kernel record frames
 * of a fork storm (fork + exit of N children of this process, root with every
 * capability, as the BPF side lays them out), in chunks of the reader's
 * size, through the same stages `ebpf-sensor run` wires — decode, enrich
 * (process table seeded from /proc, user names, containers), the bundled
 * rules, the journal with the ECS lines, and delivery to a file. Prints the
 * process's CPU per event (user + system, all threads, from the first chunk
 * until the file holds every event) and peak RSS; with --prof DIR a
 * --cpu-prof of the run. Needs no root and no BPF: for profiling the hot
 * path on a machine whose kernel lock is busy, and for before/after
 * comparisons (bench/live.ts measures the real thing).
 *
 *   node dist/bench/pipeline-storm.js [--forks 20000] [--chunk-events 3000] [--storm fork|exec]
 *
 * --storm exec: the live exec storm's records instead (bench/storm.c: posix_spawn
 * of /bin/true and waitpid): a fork, the child's exec of /bin/true and its exit.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/config.js';
import { collectHostInfo, agentInfo } from '../src/pipeline/host-info.js';
import { Outputs } from '../src/pipeline/outputs.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { Enricher } from '../src/enrich/enrich.js';
import { loadRules } from '../src/rules/engine.js';
import { EventType, Syscall } from '../src/decode/abi.generated.js';
import { componentLogger } from '../src/telemetry/logger.js';
import type { Source } from '../src/sources/source.js';
import type { ClassifiedEvent } from '../src/model/event.js';
import { buildRecord, frames } from '../test/helpers/record-builder.js';
import { asRootTask, selfTask } from './self-task.js';

const { values } = parseArgs({ options: { forks: { type: 'string', default: '20000' }, 'chunk-events': { type: 'string', default: '3000' }, keep: { type: 'boolean', default: false }, storm: { type: 'string', default: 'fork' } } });
/** --keep: the classified events stay reachable (`keptEvents()`), for micro-benchmarks of single stages on live-shaped events. */
const keep = values.keep === true;
const kept: ClassifiedEvent[] = [];
export function keptEvents(): readonly ClassifiedEvent[] {
  return kept;
}
const forks = Number(values.forks);
const perChunk = Number(values['chunk-events']);
const exec = values.storm === 'exec';

const withCaps = asRootTask;

const { pid: me, ppid, sid, pgid, startNs, uptimeNs } = selfTask();

// Children: pids above any real one, each started in a tick of its own (distinct entity ids).
const records: Buffer[] = [];
let ts = uptimeNs;
for (let i = 0; i < forks; i++) {
  const child = 5_000_000 + i;
  const cstart = uptimeNs + BigInt(i) * 10_000_000n;
  ts += 50_000n;
  records.push(
    withCaps(
      buildRecord({ type: EventType.SE_EV_FORK, tsNs: ts, pid: me, tid: me, ppid, uid: 0, gid: 0, startNs, parentStartNs: 0n, comm: 'node', args: [child, child, cstart] }),
      sid,
      pgid,
    ),
  );
  if (exec) {
    // argc, dirfd, inode, dev, stdio (pipe, pipe, char), the syscall.
    ts += 50_000n;
    const stdio = 4 | (4 << 8) | (3 << 16);
    const rec = buildRecord({ type: EventType.SE_EV_EXEC, tsNs: ts, pid: child, tid: child, ppid: me, uid: 0, gid: 0, startNs: cstart, parentStartNs: startNs, comm: 'true', args: [1, -100, 1234567, 0, stdio, Syscall.SE_SC_EXECVE], strs: ['/bin/true', '/bin/true\0', process.cwd(), '/usr/bin/true'] });
    records.push(withCaps(rec, sid, pgid));
  }
  ts += 50_000n;
  records.push(
    withCaps(
      buildRecord({ type: EventType.SE_EV_EXIT, tsNs: ts, pid: child, tid: child, ppid: me, uid: 0, gid: 0, startNs: cstart, parentStartNs: startNs, comm: exec ? 'true' : 'node', args: [0, 0] }),
      sid,
      pgid,
    ),
  );
}
const chunks: Array<{ chunk: Buffer; used: number }> = [];
for (let i = 0; i < records.length; i += perChunk) chunks.push(frames(records.slice(i, i + perChunk)));
records.length = 0;

const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-pstorm-'));
const out = join(dir, 'out.ndjson');
try {
  const cfg = loadConfig(undefined, {
    EBPF_SENSOR_LOG_LEVEL: 'warn',
    EBPF_SENSOR_JOURNAL__DIR: join(dir, 'journal'),
    EBPF_SENSOR_OUTPUT__TARGET: `file:${out}`,
    EBPF_SENSOR_OUTPUT__MAX_FILE_BYTES: '0',
    EBPF_SENSOR_METRICS__ENABLED: 'false',
  });
  const host = collectHostInfo(cfg.host.name, '/');
  const agent = agentInfo(host);
  const engine = loadRules({ bundled: true, paths: [], lists: { sensor_pids: [String(process.pid)], sensor_paths: [] } });
  const outputs = Outputs.open({ config: cfg, host, agent });
  const enricher = new Enricher({ hostId: host.id, seedFromProc: true, resolveContainers: true, resolveNames: true });
  const decode = { bootToRealtimeNs: BigInt(Date.now()) * 1_000_000n - uptimeNs, bootIdPrefix: host.boot_id.replace(/-/g, '').slice(0, 8), sequence: 0 };
  const source: Source = { start: async () => undefined, stop: async () => undefined } as unknown as Source;
  const pipeline = new Pipeline({
    source,
    decode,
    enricher,
    classifier: engine,
    output: outputs,
    log: componentLogger('pipeline'),
    host,
    events: cfg.telemetry.events,
    statsSeconds: 0,
    ...(keep ? { onClassified: (b: readonly ClassifiedEvent[]) => void kept.push(...b) } : {}),
  });
  outputs.start(() => undefined);
  const total = forks * (exec ? 3 : 2);
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  let hwm = 0;
  const mem0 = process.memoryUsage();
  let heapMax = 0;
  let extMax = 0;
  const sample = (): void => {
    const m = process.memoryUsage();
    hwm = Math.max(hwm, m.rss);
    heapMax = Math.max(heapMax, m.heapTotal);
    extMax = Math.max(extMax, m.external);
  };
  const lines = (): number => {
    try {
      return Math.round(statSync(out).size);
    } catch {
      return 0;
    }
  };
  // One chunk per turn of the event loop, as the reader thread hands them over.
  for (const c of chunks) {
    pipeline.onBatch({ kind: 'frames', chunk: c.chunk, used: c.used } as never);
    sample();
    await new Promise((r) => setImmediate(r));
  }
  let delivered = 0;
  for (;;) {
    const d = outputs.stats().sinks[0]?.eventsOut ?? 0;
    sample();
    if (d >= total) {
      delivered = d;
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const cpu = process.cpuUsage(cpu0);
  const wall = Date.now() - t0;
  const status = readFileSync('/proc/self/status', 'utf8');
  const vmhwm = Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1024;
  console.log(
    JSON.stringify({
      events: total,
      delivered,
      cpuS: (cpu.user + cpu.system) / 1e6,
      usPerEvent: +((cpu.user + cpu.system) / total).toFixed(2),
      wallMs: wall,
      outBytesPerEvent: Math.round(lines() / total),
      rssBeforeMB: Math.round(mem0.rss / 1048576),
      rssPeakMB: Math.round(hwm / 1048576),
      heapTotalPeakMB: Math.round(heapMax / 1048576),
      externalPeakMB: Math.round(extMax / 1048576),
      vmHwmMB: Math.round(vmhwm),
      node: process.version,
    }),
  );
  await outputs.close(5);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
