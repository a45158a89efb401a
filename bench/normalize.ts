/**
 * Normalizer throughput on one core: ECS documents per second (toEcs plus
 * JSON.stringify, and plus ecsJson as the line sinks write it) and CEF lines
 * per second (toCef), over events of every kind decoded from kernel records.
 * Prints numbers; asserts nothing.
 *
 *   npx tsc -p tsconfig.json && taskset -c 0 node dist/bench/normalize.js [seconds-per-case]
 *
 * Targets (issue #5): >= 300,000 ECS documents/s and >= 500,000 CEF lines/s.
 */
import { toEcs, ecsJson } from '../src/normalize/ecs/ecs.js';
import { ecsLine } from '../src/normalize/ecs/ecs-serializer.js';
import { toCef, CEF_DEFAULTS } from '../src/normalize/cef/cef.js';
import type { ClassifiedEvent } from '../src/model/event.js';
import { corpus, HOST, AGENT } from '../test/helpers/normalize-corpus.js';

const seconds = Number(process.argv[2] ?? 3);

interface Result {
  name: string;
  /** Per second of this thread's CPU time: what one core does, whatever else runs on the machine. */
  perCpuSecond: number;
  /** Per second of wall-clock time (lower when other processes compete for the core). */
  perWallSecond: number;
  bytesPerDoc: number;
}

function run(name: string, events: readonly ClassifiedEvent[], fn: (ce: ClassifiedEvent) => string): Result {
  // Warm up so the JIT has settled before timing.
  let bytes = 0;
  for (let i = 0; i < 200_000; i++) bytes += fn(events[i % events.length]!).length;
  let n = 0;
  bytes = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const until = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < until) {
    for (let i = 0; i < 10_000; i++) {
      bytes += fn(events[n % events.length]!).length;
      n++;
    }
    now = process.hrtime.bigint();
  }
  const elapsed = Number(now - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { name, perCpuSecond: n / cpuSeconds, perWallSecond: n / elapsed, bytesPerDoc: bytes / n };
}

const all = corpus();
const telemetry = all.filter((ce) => ce.verdict.classification === 'normal');
const alerts = all.filter((ce) => ce.verdict.classification === 'suspicious');

// The floor JSON.stringify alone sets on this machine: documents built once.
const docs = new Map(telemetry.map((ce) => [ce, toEcs(ce, HOST, AGENT)] as const));
const prebuilt = telemetry;

const results: Result[] = [
  run('ECS toEcs+JSON.stringify, telemetry', telemetry, (ce) => JSON.stringify(toEcs(ce, HOST, AGENT))),
  run('ECS toEcs+JSON.stringify, alerts', alerts, (ce) => JSON.stringify(toEcs(ce, HOST, AGENT))),
  run('ECS toEcs+ecsJson, telemetry', telemetry, (ce) => ecsJson(toEcs(ce, HOST, AGENT))),
  run('ECS ecsLine (line sinks, ES), telemetry', telemetry, (ce) => ecsLine(ce, HOST, AGENT)),
  run('ECS ecsLine, alerts', alerts, (ce) => ecsLine(ce, HOST, AGENT)),
  run('ECS toEcs alone, telemetry', telemetry, (ce) => (toEcs(ce, HOST, AGENT).event as { id: string }).id),
  run('ECS JSON.stringify alone (prebuilt), telemetry', prebuilt, (ce) => JSON.stringify(docs.get(ce))),
  run('CEF toCef, telemetry', telemetry, (ce) => toCef(ce, HOST, AGENT, CEF_DEFAULTS)),
  run('CEF toCef, alerts', alerts, (ce) => toCef(ce, HOST, AGENT, CEF_DEFAULTS)),
];

console.log(`normalize benchmark: node ${process.version}, ${seconds} s per case, ${telemetry.length} telemetry + ${alerts.length} alert events of ${new Set(all.map((c) => c.event.ebpf.kind)).size} kinds`);
const fmt = (v: number): string => Math.round(v).toLocaleString('en-US').padStart(10);
console.log(`${'case'.padEnd(46)} ${'per CPU-s'.padStart(10)} ${'per wall-s'.padStart(10)}  size`);
for (const r of results) {
  console.log(`${r.name.padEnd(46)} ${fmt(r.perCpuSecond)} ${fmt(r.perWallSecond)}  ${Math.round(r.bytesPerDoc)} B`);
}
console.log(`RSS ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB`);
