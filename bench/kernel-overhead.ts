/**
 * Kernel overhead benchmark: an openat+close storm, the same opens submitted
 * through an io_uring ring, and an exec storm, each
 * timed without the sensor and with it, alternating in the same invocation.
 * Prints ns/op, the overhead ratio (monitored / unmonitored, median of the
 * rounds), events/s delivered to JavaScript, kernel and reader losses, and the
 * sensor process's RSS.
 *
 *   node dist/bench/kernel-overhead.js [--rounds 3] [--opens 2000000] [--execs 3000] [--only TEXT] [--object PATH]
 *
 * --object loads another build's BPF object (for before/after comparisons of
 * the kernel side with the same harness, in one invocation each).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KernelSource } from '../src/sources/kernel/kernel-source.js';
import { OPEN_FILTER, type KernelFilter } from '../src/sources/kernel/filter-maps.js';
import { stormBinary } from './storm-binary.js';
import { decodeChunk, type DecodeContext } from '../src/decode/decode.js';
import { bpfUnavailableReason } from '../src/sources/kernel/preflight.js';
import { createLogger } from '../src/telemetry/logger.js';
import { loadRules } from '../src/rules/engine.js';
import { kernelNeeds } from '../src/rules/kernel-needs.js';
import { kernelFilter } from '../src/rules/kernel-filter.js';
import type { SensorEvent } from '../src/model/event.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    opens: { type: 'string', default: '2000000' },
    execs: { type: 'string', default: '3000' },
    only: { type: 'string' },
    object: { type: 'string' },
  },
});
/** Run only scenarios whose name contains this text. */
const only = values.only;
const execFileAsync = promisify(execFile);
const rounds = Number(values.rounds);
const opens = Number(values.opens);
const execs = Number(values.execs);

/**
 * The default kernel filter: what `ebpf-sensor run` installs with the bundled
 * rules and the default config (telemetry of every family, read-only opens
 * only when a rule wants them).
 */
async function defaultFilter(): Promise<KernelFilter> {
  const engine = loadRules({ bundled: true, paths: [] });
  return kernelFilter(kernelNeeds(engine, 'alerts'), { telemetry: { events: 'all', openReads: false } }, engine);
}

/**
 * Run the storm without blocking this process's event loop: the sensor's
 * batches are delivered on it (a synchronous spawn would stall the reader
 * and turn the benchmark into a loss test).
 */
async function storm(args: string[]): Promise<number> {
  const { stdout } = await execFileAsync(stormBinary(), args, { encoding: 'utf8' });
  return (JSON.parse(stdout) as { ns_per_op: number }).ns_per_op;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function settle(src: KernelSource): Promise<void> {
  let prev = -1;
  for (let i = 0; i < 100; i++) {
    const r = src.ringStats().records;
    if (r === prev) return;
    prev = r;
    await new Promise((res) => setTimeout(res, 50));
  }
}

interface Result {
  scenario: string;
  baseNs: number;
  monNs: number;
  ratio: number;
  eventsPerSec: number;
  kernelLost: number;
  readerStalls: number;
  decoded: number;
  rssMb: number;
}

async function scenario(name: string, filter: KernelFilter, args: string[], decode: boolean): Promise<Result> {
  const src = new KernelSource(values.object ? { objectPath: values.object } : {}, filter);
  let records = 0;
  let decoded = 0;
  const ctx: DecodeContext = { bootToRealtimeNs: 0n, bootIdPrefix: 'bench000', sequence: 0 };
  const scratch: SensorEvent[] = [];
  const stats = { records: 0, errors: 0 };
  await src.start((b) => {
    if (b.kind !== 'frames') return;
    records += b.records;
    if (decode) {
      scratch.length = 0;
      decodeChunk(b.chunk, b.used, ctx, scratch, stats);
      decoded += scratch.length;
    }
  });
  const ratios: number[] = [];
  const bases: number[] = [];
  const mons: number[] = [];
  let eps = 0;
  let rss = 0;
  const lost0 = src.counters().lost;
  const stall0 = src.ringStats().stalls;
  try {
    for (let r = 0; r < rounds; r++) {
      src.detachPrograms();
      const base = await storm(args);
      src.reattachPrograms();
      await settle(src);
      const before = records;
      const t0 = performance.now();
      const mon = await storm(args);
      const secs = (performance.now() - t0) / 1000;
      await settle(src);
      rss = Math.max(rss, process.memoryUsage().rss);
      eps = Math.max(eps, (records - before) / secs);
      bases.push(base);
      mons.push(mon);
      ratios.push(mon / base);
    }
    await settle(src);
  } catch (e) {
    await src.stop();
    throw e;
  }
  const lost = src.counters().lost - lost0;
  const stalls = src.ringStats().stalls - stall0;
  await src.stop();
  return {
    scenario: name,
    baseNs: median(bases),
    monNs: median(mons),
    ratio: median(ratios),
    eventsPerSec: Math.round(eps),
    kernelLost: lost,
    readerStalls: stalls,
    decoded,
    rssMb: Math.round(rss / 1048576),
  };
}

async function main(): Promise<void> {
  const why = bpfUnavailableReason();
  if (why) {
    console.log(`kernel-overhead: skipped: ${why}`);
    return;
  }
  createLogger({ level: 'warn' });
  const target = join(tmpdir(), 'ebpf-sensor-bench-file');
  writeFileSync(target, 'x');
  const dflt = await defaultFilter();
  const results: Result[] = [];
  const plan: Array<[string, KernelFilter, string[], boolean]> = [
    ['open/close storm, default filters', dflt, ['open', target, String(opens)], true],
    ['open/close storm, all filters off, every open delivered to JS', OPEN_FILTER, ['open', target, String(opens)], false],
    ['open/close storm, all filters off, every open decoded in JS', OPEN_FILTER, ['open', target, String(opens)], true],
    ['exec storm, default filters', dflt, ['exec', String(execs)], true],
    ['io_uring open/close storm, default filters', dflt, ['iou-open', target, String(opens)], true],
    ['io_uring open/close storm, all filters off, every open decoded in JS', OPEN_FILTER, ['iou-open', target, String(opens)], true],
    // One ring, one file opened for writing, every write through the ring: reported once (per ring and file).
    ['io_uring write storm, default filters', dflt, ['iou-write', join(tmpdir(), 'ebpf-sensor-bench-written'), String(opens)], true],
  ];
  for (const [name, filter, args, decode] of plan) {
    if (only && !name.includes(only)) continue;
    results.push(await scenario(name, filter, args, decode));
  }
  console.log('\nscenario | ns/op without | ns/op with | ratio | events/s to JS | decoded | kernel lost | reader stalls | RSS MB');
  console.log('---|---|---|---|---|---|---|---|---');
  for (const r of results) {
    console.log(
      `${r.scenario} | ${r.baseNs.toFixed(0)} | ${r.monNs.toFixed(0)} | ${r.ratio.toFixed(3)}x | ${r.eventsPerSec} | ${r.decoded} | ${r.kernelLost} | ${r.readerStalls} | ${r.rssMb}`,
    );
  }
  console.log(`\nrounds=${rounds} opens=${opens} execs=${execs} (ratios are medians of alternating rounds)`);
}

await main();
