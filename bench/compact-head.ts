/**
 * The compact journal head's two checks alone (journal/compact-record.ts),
 * without the ECS line journal-head.ts writes around them: `processFits` and
 * `compactJson` (and `compactWrite`: its string written into a buffer as
 * UTF-8, as the encoder did) against `headBytes` (head-bytes.ts: the same
 * bytes written straight into the buffer, builds that have it) on live-shaped events (bench/pipeline-storm.ts's fork storm,
 * `--keep`), so a change of a fraction of a µs shows through the noise of a
 * shared machine.
 *
 * Takes: --compare ROOT (another checkout, built: its compact-record module
 * runs the same events in the same process, alternating pass by pass),
 * --rounds, --events. Gives: µs of wall time per event of each, per build,
 * the minimum and the median of the rounds (each round: five passes over the
 * events). Asserts nothing.
 *
 *   node dist/bench/compact-head.js [--compare /tmp/base] [--rounds 20] [--events 6000]
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ClassifiedEvent } from '../src/model/event.js';
import { keptStormEvents } from './kept-events.js';
import { compareArgs } from './compare-builds.js';

const { rounds, opts, here, roots } = compareArgs(import.meta.url, 20, { events: 6000 });

const events = await keptStormEvents(here, opts.events);

const scratch = Buffer.allocUnsafe(1 << 20);
const builds: Array<[string, Record<string, (ce: ClassifiedEvent) => number>]> = [];
for (const [name, root] of roots) {
  const m = (await import(pathToFileURL(join(root, 'src/journal/compact-record.js')).href)) as typeof import('../src/journal/compact-record.js');
  const stages: Record<string, (ce: ClassifiedEvent) => number> = {
    processFits: (ce) => (m.processFits(ce.event.process) ? 1 : 0),
    compactJson: (ce) => m.compactJson(ce).length,
    compactWrite: (ce) => scratch.write(m.compactJson(ce), 0, 'utf8'),
  };
  // Builds with head-bytes.ts: the head written as bytes into the buffer (what compactWrite does with a string).
  const hb = (await import(pathToFileURL(join(root, 'src/journal/head-bytes.js')).href).catch(() => undefined)) as typeof import('../src/journal/head-bytes.js') | undefined;
  // headFlags (format 4: which members the ECS line holds) where the build has it, else the process's flags.
  const flags = (m as { headFlags?: (ce: ClassifiedEvent) => number }).headFlags ?? ((ce: ClassifiedEvent) => m.flagsOf(ce.event.process));
  if (hb) stages.headBytes = (ce) => hb.writeCompactHead(scratch, 0, ce, flags(ce));
  builds.push([name, stages]);
}

const PASSES = 5;
const results: Record<string, Record<string, number[]>> = {};
let sink = 0;
for (let round = -1; round < rounds; round++) {
  for (const [name, stages] of builds) {
    for (const [stage, f] of Object.entries(stages)) {
      const t0 = process.hrtime.bigint();
      for (let k = 0; k < PASSES; k++) for (const ce of events) sink += f(ce);
      const us = Number(process.hrtime.bigint() - t0) / 1000 / (PASSES * events.length);
      if (round >= 0) ((results[name] ??= {})[stage] ??= []).push(us); // round -1 warms up
    }
  }
}
const r2 = (x: number): number => Math.round(x * 1000) / 1000;
const out: Record<string, Record<string, { min: number; median: number }>> = {};
for (const [b, st] of Object.entries(results)) {
  out[b] = Object.fromEntries(
    Object.entries(st).map(([k, v]) => {
      const s = [...v].sort((x, y) => x - y);
      return [k, { min: r2(s[0]!), median: r2(s[s.length >> 1]!) }];
    }),
  );
}
console.log(JSON.stringify({ events: events.length, rounds, usPerEvent: out, sink: sink > 0 }));
