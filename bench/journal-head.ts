/**
 * The parts of a journal record's head (journal/record-encoder.ts head())
 * alone, on live-shaped events: the classified events of
 * bench/pipeline-storm.ts's fork storm (`--keep`), with their ECS line.
 *
 * Takes: --compare ROOT (another checkout, built: its modules run the same
 * events in the same process, alternating round by round), --rounds,
 * --events. Gives: CPU µs per event of each stage, per build (median of the
 * rounds), and each build's bytes per record of these events. Asserts nothing.
 *
 * Stages (each includes writing the ECS line, as the encoder does, so the
 * differences are what the stage adds):
 * - `line`: ecsLine only (a tree of concatenated strings, not yet flat);
 * - `lineWrite`: the line written into a buffer as UTF-8 (Buffer#write
 *   flattens it first: what writeSections pays);
 * - `lineScansWrite`: the head's two scans (`\n`, U+FFFD) before that write
 *   (the scans flatten the line; the write then finds it flat);
 * - `partsWrite`: the line as its parts (ecsParts, builds that have it),
 *   each part written into the buffer: the whole line is never flattened;
 * - `fits`: processFits; `compact`: compactJson; `canonical`: JSON.stringify
 *   of the whole classified event (the version 2 layout), for scale;
 * - `record`: the whole record as the journal encodes it (RecordEncoder with
 *   the sections of pipeline/outputs.ts journalSections: head, route, line);
 * - `read`: that record read back as the canonical event (payload.ts
 *   readEvent: what replay, `journal export` and a sink that asks for the
 *   event pay), without the ECS line's cost.
 *
 *   node dist/bench/journal-head.js [--compare /tmp/base] [--rounds 6] [--events 6000]
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ClassifiedEvent } from '../src/model/event.js';
import { keptStormEvents } from './kept-events.js';
import { compareArgs } from './compare-builds.js';

const { rounds, opts, here, roots } = compareArgs(import.meta.url, 6, { events: 6000 });
const count = opts.events;

const events = await keptStormEvents(here, count);
const { HOST, AGENT } = await import(pathToFileURL(join(here, 'test/helpers/normalize-corpus.js')).href);

type Stage = (ce: ClassifiedEvent) => number;
interface Build {
  name: string;
  stages: Record<string, Stage>;
}
const scratch = Buffer.allocUnsafe(1 << 20);
const builds: Build[] = [];
const bytesPerRecord: Record<string, number> = {};
for (const [name, root] of roots) {
  const load = (p: string): Promise<any> => import(pathToFileURL(join(root, p)).href); // eslint-disable-line @typescript-eslint/no-explicit-any
  const { ecsLine } = (await load('src/normalize/ecs/ecs-serializer.js')) as typeof import('../src/normalize/ecs/ecs-serializer.js');
  const { ecsParts } = (await load('src/normalize/ecs/ecs-serializer.js')) as Partial<typeof import('../src/normalize/ecs/ecs-serializer.js')>;
  const { processFits, compactJson } = (await load('src/journal/compact-record.js')) as typeof import('../src/journal/compact-record.js');
  const { RecordEncoder } = (await load('src/journal/record-encoder.js')) as typeof import('../src/journal/record-encoder.js');
  const outputs = (await load('src/pipeline/outputs.js')) as typeof import('../src/pipeline/outputs.js');
  const sections = outputs.journalSections(new Map([['ecs', outputs.lineFormatter('ecs', HOST, AGENT)]]));
  const encoder = new RecordEncoder();
  const one: ClassifiedEvent[] = [];
  const line = (ce: ClassifiedEvent): string => ecsLine(ce, HOST, AGENT);
  const partsWrite: Record<string, Stage> = ecsParts
    ? {
        parts: (ce) => ecsParts(ce, HOST, AGENT).count,
        partsWrite: (ce) => {
          const { parts, count } = ecsParts(ce, HOST, AGENT);
          let n = 0;
          for (let i = 0; i < count; i++) n += scratch.write(parts[i]!, n);
          return n;
        },
      }
    : {};
  // Bytes per record (header, head, route, line) of the whole batch, once per build; the records kept for `read`.
  const all = new RecordEncoder().encode(events, sections, 0, 0);
  bytesPerRecord[name] = Math.round(all.bytes / events.length);
  const records = Buffer.from(all.buf.subarray(0, all.bytes));
  const { RECORD_HEADER_BYTES: HDR, RH } = (await load('src/journal/format.js')) as typeof import('../src/journal/format.js');
  const { readEvent } = (await load('src/journal/payload.js')) as typeof import('../src/journal/payload.js');
  const at = new Map<ClassifiedEvent, number>();
  for (let i = 0, off = 0; i < events.length; i++, off += HDR + records.readUInt32LE(off + RH.length)) at.set(events[i]!, off);
  builds.push({
    name,
    stages: {
      line: (ce) => line(ce).length,
      lineWrite: (ce) => scratch.write(line(ce), 0),
      lineScansWrite: (ce) => {
        const l = line(ce);
        const clean = !l.includes('\n') && !l.includes('\ufffd');
        return scratch.write(l, 0) + (clean ? 1 : 0);
      },
      ...partsWrite,
      fits: (ce) => (processFits(ce.event.process) ? 1 : 0) + line(ce).length,
      compact: (ce) => compactJson(ce).length + line(ce).length,
      canonical: (ce) => JSON.stringify(ce).length + line(ce).length,
      record: (ce) => {
        one[0] = ce;
        return encoder.encode(one, sections, 0, 0).bytes;
      },
      read: (ce) => {
        const off = at.get(ce)!;
        return readEvent(records, off + HDR, off + HDR + records.readUInt32LE(off + RH.length)).bytes;
      },
    },
  });
}

const cpuUs = (c: NodeJS.CpuUsage): number => c.user + c.system;
const results: Record<string, Record<string, number[]>> = {};
let sink = 0;
for (let round = -1; round < rounds; round++) {
  for (const b of builds) {
    for (const [stage, f] of Object.entries(b.stages)) {
      const c0 = process.cpuUsage();
      for (const ce of events) sink += f(ce);
      const us = cpuUs(process.cpuUsage(c0)) / events.length;
      if (round >= 0) ((results[b.name] ??= {})[stage] ??= []).push(us); // round -1 warms up
    }
  }
}
const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  return Math.round(s[s.length >> 1]! * 100) / 100;
};
const out: Record<string, Record<string, number>> = {};
for (const [b, st] of Object.entries(results)) out[b] = Object.fromEntries(Object.entries(st).map(([k, v]) => [k, median(v)]));
console.log(JSON.stringify({ events: events.length, rounds, usPerEvent: out, bytesPerRecord, sink: sink > 0 }));
