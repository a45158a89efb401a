/**
 * The ECS line alone on live-shaped events: the classified events of
 * bench/pipeline-storm.ts's fork storm (`--keep`), written by `ecsLine`
 * round after round. Prints CPU µs and bytes allocated per line (heap growth
 * over the timed rounds: run it with a young generation large enough that no
 * scavenge runs meanwhile, as below). Asserts nothing.
 *
 *   node --max-semi-space-size=1024 --min-semi-space-size=1024 dist/bench/ecs-line.js [--forks 5000]
 */
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { forks: { type: 'string', default: '5000' }, rounds: { type: 'string', default: '4' } }, strict: false });
// pipeline-storm reads its own options from argv when imported.
process.argv = [process.argv[0]!, process.argv[1]!, '--forks', String(values.forks), '--keep'];
const { keptEvents } = await import('./pipeline-storm.js');
const { ecsLine } = await import('../src/normalize/ecs/ecs-serializer.js');
const { collectHostInfo, agentInfo } = await import('../src/pipeline/host-info.js');

const host = collectHostInfo(undefined, '/');
const agent = agentInfo(host);
const events = keptEvents();
let bytes = 0;
for (let r = 0; r < 3; r++) for (const e of events) bytes += ecsLine(e, host, agent).length; // warm-up
const rounds = Number(values.rounds);
const heap0 = process.memoryUsage().heapUsed;
const cpu0 = process.cpuUsage();
for (let r = 0; r < rounds; r++) for (const e of events) bytes += ecsLine(e, host, agent).length;
const cpu = process.cpuUsage(cpu0);
const heap1 = process.memoryUsage().heapUsed;
const n = events.length * rounds;
console.log(
  JSON.stringify({
    events: events.length,
    usPerLine: +((cpu.user + cpu.system) / n).toFixed(2),
    bytesAllocatedPerLine: Math.round((heap1 - heap0) / n),
    lineChars: Math.round(bytes / (events.length * (rounds + 3))),
  }),
);
