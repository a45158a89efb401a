/**
 * Alerts-only replay's CPU per thread: the main thread against Node's other
 * threads (TurboFan's concurrent compiles, GC helpers), for the same call
 * bench/replay.ts measures — a one-event replay, then the 200k capture's, in
 * one process pinned to one CPU; CPU per thread from /proc/self/task/<tid>/stat
 * around the second call. Takes the bench captures (bench/replay-workload.ts);
 * gives one row per build and round. Prints numbers; asserts nothing.
 *
 *   node dist/bench/replay-threads.js [--mix steady|host] [--events 200000] [--compare TREE] [--rounds 4] [--cpu 1]
 *
 * --compare TREE: the same call with TREE's build (its dist/src modules), alternating with this one.
 * --node-flag=FLAG (repeatable): a V8/Node flag for the children, e.g. --node-flag=--no-concurrent-recompilation.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchCapture, type Mix } from './replay-workload.js';

const TICK_MS = 10; // USER_HZ 100

/** CPU milliseconds per thread of this process (comm and tid as the key). */
function threads(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(tid, (Number(f[11]) + Number(f[12])) * TICK_MS);
  }
  return out;
}

/** The child: both replay() calls with TREE's modules; prints process, main and other-thread CPU of the second. */
async function child(tree: string, small: string, file: string): Promise<void> {
  const src = (m: string): string => join(tree, 'dist', 'src', m);
  const { replay } = (await import(src('pipeline/replay.js'))) as typeof import('../src/pipeline/replay.js');
  const { lineFormatter } = (await import(src('pipeline/outputs.js'))) as typeof import('../src/pipeline/outputs.js');
  const { NdjsonSink } = (await import(src('sinks/ndjson-sink.js'))) as typeof import('../src/sinks/ndjson-sink.js');
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-bench-replay-threads-'));
  const run = (input: string): ReturnType<typeof replay> =>
    replay({
      inputs: [input],
      rules: { bundled: true, paths: [] },
      events: 'alerts',
      speed: 'max',
      skipBad: false,
      sinks: (host, agent) => [new NdjsonSink({ target: join(dir, 'out.ndjson'), format: lineFormatter('ecs', host, agent) })],
      localHost: () => {
        throw new Error('captures only');
      },
    });
  await run(small);
  const a = threads();
  const c0 = process.cpuUsage();
  const s = await run(file);
  const c = process.cpuUsage(c0);
  const b = threads();
  rmSync(dir, { recursive: true, force: true });
  let main = 0;
  let other = 0;
  for (const [tid, ms] of b) {
    const d = ms - (a.get(tid) ?? 0);
    if (tid === String(process.pid)) main += d;
    else other += d;
  }
  process.stdout.write(`${JSON.stringify({ events: s.records, processMs: (c.user + c.system) / 1000, mainMs: main, otherMs: other })}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mix: { type: 'string', default: 'steady' },
      events: { type: 'string', default: '200000' },
      compare: { type: 'string' },
      rounds: { type: 'string', default: '4' },
      cpu: { type: 'string', default: '1' },
      'node-flag': { type: 'string', multiple: true, default: [] },
      child: { type: 'string' },
      small: { type: 'string' },
      file: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log('usage: node dist/bench/replay-threads.js [--mix steady|host] [--events 200000] [--compare TREE] [--rounds 4] [--cpu 1] [--node-flag=FLAG ...]');
    return;
  }
  if (values.child) return child(values.child, values.small!, values.file!);
  const mix = values.mix as Mix;
  const small = await benchCapture(mix, 1);
  const file = await benchCapture(mix, Number(values.events), (s) => console.error(s));
  const self = fileURLToPath(import.meta.url);
  const builds = [{ name: 'this', tree: resolve(self, '..', '..', '..') }];
  if (values.compare) builds.push({ name: 'other', tree: resolve(values.compare) });
  const taskset = spawnSync('taskset', ['--version']).status === 0;
  console.log(`| capture | build | process CPU ms | main thread ms | other threads ms |\n|---|---|---:|---:|---:|`);
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const build of round % 2 ? [...builds].reverse() : builds) {
      const argv = [process.execPath, ...values['node-flag'], self, '--child', build.tree, '--small', small, '--file', file];
      const cmd = taskset ? ['taskset', '-c', values.cpu, ...argv] : argv;
      const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${build.name} failed:\n${r.stderr}`);
      const x = JSON.parse(r.stdout.trim().split('\n').pop()!) as { events: number; processMs: number; mainMs: number; otherMs: number };
      console.log(`| ${x.events} ${mix} | ${build.name} #${round + 1} | ${x.processMs.toFixed(0)} | ${x.mainMs} | ${x.otherMs} |`);
    }
  }
}

await main();
