/**
 * The journal's two per-event costs on live-shaped events, alone: appending
 * (the record encoding with its ECS line, as `ebpf-sensor run` with a file
 * output journals it: encode, CRC, write) and delivery to a file (reading
 * the records back, the ECS lines into the file, the cursor commits). The
 * events are those of bench/pipeline-storm.ts (a fork storm of this
 * process's children, decoded, enriched and classified by the real stages).
 * With --compare ROOT (another checkout, built) its journal, outputs and
 * sink modules run the same events in the same process, alternating round by
 * round, so both builds see the same load. Prints µs of process CPU per event
 * per round and the journal's bytes per event; asserts nothing. `live`: both
 * at once as in the running sensor — the delivery started first, keeping up
 * with appends of 256 events each made durable (fdatasync) before the next
 * (append + ECS line + journal fsync + delivery to the file, per event).
 *
 *   node dist/bench/journal-stages.js [--compare /tmp/base] [--rounds 6] [--events 6000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { keptStormEvents } from './kept-events.js';
import { compareArgs } from './compare-builds.js';

const { rounds, opts, here, roots } = compareArgs(import.meta.url, 6, { events: 6000 });
const count = opts.events;

const events = await keptStormEvents(here, count);

interface Build {
  name: string;
  Journal: typeof import('../src/journal/journal.js').Journal;
  Delivery: typeof import('../src/sinks/delivery.js').Delivery;
  NdjsonSink: typeof import('../src/sinks/ndjson-sink.js').NdjsonSink;
  sections: ReturnType<typeof import('../src/pipeline/outputs.js').journalSections>;
  format: ReturnType<typeof import('../src/pipeline/outputs.js').lineFormatter>;
}
const { HOST, AGENT } = await import(pathToFileURL(join(here, 'test/helpers/normalize-corpus.js')).href);
const builds: Build[] = [];
for (const [name, root] of roots) {
  const load = (p: string): Promise<any> => import(pathToFileURL(join(root, p)).href); // eslint-disable-line @typescript-eslint/no-explicit-any
  const outputs = await load('src/pipeline/outputs.js');
  const format = outputs.lineFormatter('ecs', HOST, AGENT);
  builds.push({
    name,
    Journal: (await load('src/journal/journal.js')).Journal,
    Delivery: (await load('src/sinks/delivery.js')).Delivery,
    NdjsonSink: (await load('src/sinks/ndjson-sink.js')).NdjsonSink,
    sections: outputs.journalSections(new Map([['ecs', format]])),
    format,
  });
}

const cpuUs = (c: NodeJS.CpuUsage): number => c.user + c.system;
const results: Record<string, { append: number[]; deliver: number[]; live: number[]; bytes: number }> = {};
for (let round = 0; round < rounds; round++) {
  for (const b of builds) {
    const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-bench-jstages-'));
    try {
      const j = b.Journal.open(join(dir, 'journal'), { fsyncIntervalMs: 100 });
      let c0 = process.cpuUsage();
      for (let i = 0; i < events.length; i += 256) j.append(events.slice(i, i + 256), b.sections);
      const append = cpuUs(process.cpuUsage(c0)) / events.length;
      await j.sync();
      const sink = new b.NdjsonSink({ target: join(dir, 'out.ndjson'), format: b.format });
      c0 = process.cpuUsage();
      const d = b.Delivery.start(j, sink, { startAt: 'oldest' });
      if (!(await d.drained(120_000))) throw new Error(`${b.name}: delivery did not drain`);
      const deliver = cpuUs(process.cpuUsage(c0)) / events.length;
      await d.stop();
      await sink.close();
      const r = (results[b.name] ??= { append: [], deliver: [], live: [], bytes: 0 });
      r.append.push(Math.round(append * 10) / 10);
      r.deliver.push(Math.round(deliver * 10) / 10);
      r.bytes = Math.round(j.stats().appended.bytes / events.length);
      await j.close();
      // live: a delivery that keeps up with the appends.
      const lj = b.Journal.open(join(dir, 'live'), { fsyncIntervalMs: 100 });
      const lsink = new b.NdjsonSink({ target: join(dir, 'live.ndjson'), format: b.format });
      const ld = b.Delivery.start(lj, lsink, { startAt: 'oldest' });
      c0 = process.cpuUsage();
      for (let i = 0; i < events.length; i += 256) {
        lj.append(events.slice(i, i + 256), b.sections);
        await lj.sync();
        await new Promise((res) => setImmediate(res));
      }
      if (!(await ld.drained(120_000))) throw new Error(`${b.name}: live delivery did not drain`);
      r.live.push(Math.round((cpuUs(process.cpuUsage(c0)) / events.length) * 10) / 10);
      await ld.stop();
      await lsink.close();
      await lj.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
console.log(JSON.stringify({ events: events.length, rounds, results }));
