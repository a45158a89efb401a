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
import { toCef, CEF_DEFAULTS } from '../src/normalize/cef/cef.js';
import type { ClassifiedEvent } from '../src/model/event.js';
import { corpus, HOST, AGENT } from '../test/helpers/normalize-corpus.js';

const seconds = Number(process.argv[2] ?? 3);

interface Result {
  name: string;
  perSecond: number;
  bytesPerDoc: number;
}

function run(name: string, events: readonly ClassifiedEvent[], fn: (ce: ClassifiedEvent) => string): Result {
  // Warm up so the JIT has settled before timing.
  let bytes = 0;
  for (let i = 0; i < 200_000; i++) bytes += fn(events[i % events.length]!).length;
  let n = 0;
  bytes = 0;
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
  return { name, perSecond: n / elapsed, bytesPerDoc: bytes / n };
}

const all = corpus();
const telemetry = all.filter((ce) => ce.verdict.classification === 'normal');
const alerts = all.filter((ce) => ce.verdict.classification === 'suspicious');

const results: Result[] = [
  run('ECS toEcs+JSON.stringify, telemetry', telemetry, (ce) => JSON.stringify(toEcs(ce, HOST, AGENT))),
  run('ECS toEcs+JSON.stringify, alerts', alerts, (ce) => JSON.stringify(toEcs(ce, HOST, AGENT))),
  run('ECS toEcs+ecsJson (line sinks), telemetry', telemetry, (ce) => ecsJson(toEcs(ce, HOST, AGENT))),
  run('CEF toCef, telemetry', telemetry, (ce) => toCef(ce, HOST, AGENT, CEF_DEFAULTS)),
  run('CEF toCef, alerts', alerts, (ce) => toCef(ce, HOST, AGENT, CEF_DEFAULTS)),
];

console.log(`normalize benchmark: node ${process.version}, ${seconds} s per case, ${telemetry.length} telemetry + ${alerts.length} alert events of ${new Set(all.map((c) => c.event.ebpf.kind)).size} kinds`);
for (const r of results) {
  console.log(`${r.name.padEnd(44)} ${Math.round(r.perSecond).toLocaleString('en-US').padStart(10)} /s   ${Math.round(r.bytesPerDoc)} bytes each`);
}
console.log(`RSS ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB`);
