/**
 * Replay throughput on one core, and memory as the capture grows: captures
 * of 1 and 2 million events (bench/replay-workload.ts) replayed through the
 * bundled rules to a file, (a) writing only the alerts and (b) writing every
 * event as ECS. Each case runs in its own process pinned to one CPU
 * (taskset), so its CPU time, wall time and peak RSS are its own. Prints
 * numbers; asserts nothing.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/replay.js [--events 1000000,2000000] [--mix host|steady|churn] [--cases alerts,ecs] [--cpu 1] [--compare TREE] [--rounds N] [--help]
 *
 * --compare TREE: the same cases with another build's child (TREE/dist/bench/replay.js, e.g. a
 * build of main), alternating with this one, --rounds times (default 2): one invocation, pairs
 * measured under the same load.
 *
 * Targets (issue #14): >= 1,000,000 events/s for (a), >= 200,000 events/s for (b), per core.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { replay } from '../src/pipeline/replay.js';
import { lineFormatter } from '../src/pipeline/outputs.js';
import { NdjsonSink } from '../src/sinks/ndjson-sink.js';
import { benchCapture, type Mix } from './replay-workload.js';

interface Result {
  events: number;
  written: number;
  alerts: number;
  /** The replay() call: CPU seconds of this process (rules compiled inside). */
  cpuSeconds: number;
  wallSeconds: number;
  /** A replay of a one-event capture in the same process: the fixed cost (ruleset compile, sinks, first block). */
  fixedCpuSeconds: number;
  maxRssMb: number;
  outputBytes: number;
  skipped: number;
}

/** The child: one case, measured from inside. */
async function child(file: string, small: string, which: 'alerts' | 'ecs'): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-bench-replay-out-'));
  const run = async (input: string, out: string): Promise<{ cpu: number; wall: number; s: Awaited<ReturnType<typeof replay>> }> => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const s = await replay({
      inputs: [input],
      rules: { bundled: true, paths: [] },
      events: which === 'alerts' ? 'alerts' : 'all',
      speed: 'max',
      skipBad: false,
      sinks: (host, agent) => [new NdjsonSink({ target: out, format: lineFormatter('ecs', host, agent) })],
      localHost: () => {
        throw new Error('captures only');
      },
    });
    const c = process.cpuUsage(c0);
    return { cpu: (c.user + c.system) / 1e6, wall: (performance.now() - t0) / 1000, s };
  };
  const fixed = await run(small, join(dir, 'small.ndjson'));
  const out = join(dir, 'out.ndjson');
  const r = await run(file, out);
  const result: Result = {
    events: r.s.records,
    written: r.s.written,
    alerts: r.s.alerts,
    cpuSeconds: r.cpu,
    wallSeconds: r.wall,
    fixedCpuSeconds: fixed.cpu,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    outputBytes: statSync(out).size,
    skipped: r.s.skipped,
  };
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '1000000,2000000' },
      mix: { type: 'string', default: 'host' },
      cases: { type: 'string', default: 'alerts,ecs' },
      cpu: { type: 'string', default: '1' },
      child: { type: 'string' },
      small: { type: 'string' },
      case: { type: 'string' },
      compare: { type: 'string' },
      rounds: { type: 'string', default: '2' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(`usage: node dist/bench/replay.js [--events 1000000,2000000] [--mix host|steady|churn] [--cases alerts,ecs] [--cpu 1] [--compare TREE] [--rounds 2]
  one child process per case, pinned to --cpu: (a) alerts only, (b) every event as ECS, to a file
  --compare TREE: each case also with TREE/dist/bench/replay.js (another build), alternating, --rounds times
  node --cpu-prof dist/bench/replay.js --child CAPTURE --small SMALL --case alerts|ecs   (one case, for a profile)
targets (issue #14): (a) >= 1,000,000 events/s, (b) >= 200,000 events/s per core`);
    return;
  }
  if (values.child) return child(values.child, values.small!, values.case as 'alerts' | 'ecs');
  const mix = values.mix as Mix;
  const small = await benchCapture(mix, 1);
  const self = fileURLToPath(import.meta.url);
  const taskset = spawnSync('taskset', ['--version']).status === 0;
  const rows: string[] = [];
  const builds: Array<{ name: string; script: string }> = [{ name: 'this', script: self }];
  if (values.compare) builds.push({ name: 'other', script: join(values.compare, 'dist', 'bench', 'replay.js') });
  const rounds = values.compare ? Number(values.rounds) : 1;
  for (const n of values.events.split(',').map(Number)) {
    const file = await benchCapture(mix, n, (s) => console.error(s));
    const size = statSync(file).size;
    for (const which of values.cases.split(',')) {
      for (let round = 0; round < rounds; round++) {
        // Alternate which build goes first, so neither always runs on a warmer (or busier) machine.
        const order = round % 2 ? [...builds].reverse() : builds;
        for (const build of order) {
          const argv = [process.execPath, build.script, '--child', file, '--small', small, '--case', which];
          const cmd = taskset ? ['taskset', '-c', values.cpu, ...argv] : argv;
          const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', maxBuffer: 1 << 20 });
          if (r.status !== 0) throw new Error(`case ${which} on ${n} events (${build.name}) failed:\n${r.stderr}`);
          const x = JSON.parse(r.stdout.trim().split('\n').pop()!) as Result;
          const perCpu = x.events / x.cpuSeconds;
          const steady = x.events / Math.max(1e-9, x.cpuSeconds - x.fixedCpuSeconds);
          rows.push(
            [
              `${(n / 1e6).toFixed(n < 1e6 ? 1 : 0)}M ${mix}`,
              ...(values.compare ? [`${build.name}${rounds > 1 ? ` #${round + 1}` : ''}`] : []),
              which === 'alerts' ? '(a) alerts only' : '(b) every event as ECS',
              Math.round(perCpu).toLocaleString('en-US'),
              Math.round(steady).toLocaleString('en-US'),
              Math.round(x.events / x.wallSeconds).toLocaleString('en-US'),
              x.maxRssMb.toFixed(0),
              `${x.written.toLocaleString('en-US')} (${(x.outputBytes / 1e6).toFixed(0)} MB, ${x.outputBytes} B)`,
              `${(size / 1e6).toFixed(0)} MB`,
            ].join(' | '),
          );
          console.error(`  ${rows[rows.length - 1]}  [skipped unparsed: ${x.skipped}, fixed cost ${x.fixedCpuSeconds.toFixed(2)} CPU-s]`);
        }
      }
    }
  }
  console.log(`\nreplay, one core${taskset ? ` (taskset -c ${values.cpu})` : ''}, bundled rules:\n`);
  if (values.compare) console.log(`this: ${self}; other: ${values.compare}\n`);
  console.log(`| capture |${values.compare ? ' build |' : ''} case | events per CPU-s | per CPU-s, fixed cost excluded | per wall-s | peak RSS MB | written | capture size |`);
  console.log(`|---|${values.compare ? '---|' : ''}---|---:|---:|---:|---:|---:|---:|`);
  for (const r of rows) console.log(`| ${r} |`);
}

await main();
