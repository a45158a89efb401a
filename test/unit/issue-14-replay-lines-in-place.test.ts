// Issue 14: `replay --events all` writes planned ECS lines into chunks, each
// followed by LF (pipeline/replay-ecs.ts LineChunks), and the file sink
// writes runs of such lines with writev from where they lie instead of
// copying every line into its output buffer (sinks/ndjson-sink.ts). The file
// must hold exactly the lines, each followed by LF, whatever lies between
// them in memory; and a replay's planned lines must take the in-place path.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { OutputFormat, ShippedEvent } from '../../src/model/event.js';
import { lineFormatter } from '../../src/pipeline/outputs.js';
import { replay } from '../../src/pipeline/replay.js';
import { NdjsonSink } from '../../src/sinks/ndjson-sink.js';
import type { LineFormatter, Sink } from '../../src/sinks/sink.js';
import { CheckedEvent, PlannedEvent } from '../../src/pipeline/replay-ecs.js';
import { AGENT, HOST } from '../helpers/normalize-corpus.js';
import { rawEvents, tempDir, writeCapture } from '../helpers/replay-fixtures.js';

const dir = tempDir('ebpf-sensor-lines-in-place-');

/** An event whose ECS line is `line` (what replay's PlannedEvent and the journal's events give sinks). */
function shipped(line: Buffer | string): ShippedEvent {
  return {
    verdict: { classification: 'normal', matches: [] },
    route: { suspicious: false, loss: false, id: 'x', entityId: '', pid: 1 },
    get event(): never {
      throw new Error('not read: the line is shipped');
    },
    shipped: (f: OutputFormat) => (f === 'ecs' && typeof line !== 'string' ? line : undefined),
  } as unknown as ShippedEvent;
}

/** Formats only the string lines (shipped() gives the others). */
const format = Object.assign((ce: ShippedEvent) => (ce as unknown as { text: string }).text, { format: 'ecs' as const }) as unknown as LineFormatter;

test('issue-14: lines lying one after another with LF between are written in place, every other line copied, the file holds exactly the lines', async () => {
  // Chunk A: "a1\na2\na3\n" then "a4" followed by a byte that is not LF, then "a5" right after it.
  const a = Buffer.from('a1\na2\na3\na4Xa5\nzz');
  const at = (buf: Buffer, s: number, e: number): Buffer => buf.subarray(s, e);
  // Chunk B: two lines with LF between, the last at the very end of its buffer (no LF after it).
  const b = Buffer.from('b1\nb2');
  const text = { text: 'string line' } as unknown as ShippedEvent;
  Object.assign(text, { verdict: { classification: 'normal', matches: [] }, route: { suspicious: false, loss: false, id: 'y', entityId: '', pid: 1 } });
  const lines: Array<[ShippedEvent, string]> = [
    [shipped(at(a, 0, 2)), 'a1'],
    [shipped(at(a, 3, 5)), 'a2'],
    [shipped(at(a, 6, 8)), 'a3'],
    [shipped(at(a, 9, 11)), 'a4'], // after a3's LF: joins the run
    [shipped(at(a, 12, 14)), 'a5'], // one byte after a4, but that byte is 'X': a new run
    [text, 'string line'],
    [shipped(at(b, 0, 2)), 'b1'],
    [shipped(at(b, 3, 5)), 'b2'], // ends its buffer: the sink adds the LF
    [shipped(at(a, 0, 2)), 'a1'], // the same bytes again, not after b2: copied
    [shipped(Buffer.from('own')), 'own'],
  ];
  const out = join(dir, 'mixed.ndjson');
  const sink = new NdjsonSink({ target: out, format });
  await sink.send(lines.map(([ce]) => ce));
  // The same batch again: the runs are found in every batch.
  await sink.send(lines.map(([ce]) => ce));
  await sink.close();
  const expect = lines.map(([, l]) => `${l}\n`).join('');
  assert.equal(readFileSync(out, 'utf8'), expect + expect);
  // a1–a4 and b1–b2 are runs (4 + 2 lines), twice; a5, the string, the lone a1 and "own" were copied.
  assert.equal(sink.inPlace, 12);
});

test('issue-14: a batch written with writev rotates like one write (whole batches per file)', async () => {
  const sub = join(dir, 'rotate');
  const chunk = Buffer.from(Array.from({ length: 40 }, (_, k) => `line-${String(k).padStart(3, '0')}`).join('\n') + '\n');
  const events = Array.from({ length: 40 }, (_, k) => shipped(chunk.subarray(k * 9, k * 9 + 8)));
  const out = `${sub}-events.ndjson`;
  const sink = new NdjsonSink({ target: out, format, maxBytes: 100, keep: 5 });
  for (let k = 0; k < 40; k += 10) await sink.send(events.slice(k, k + 10));
  await sink.close();
  assert.equal(sink.rotations, 3, 'a batch is 90 bytes: two do not fit in 100, each starts a file');
  assert.equal(sink.inPlace, 40);
  const files = readdirSync(dir).filter((f) => f.startsWith('rotate-events.ndjson')).sort().reverse();
  const all = files.map((f) => readFileSync(join(dir, f), 'utf8')).join('');
  assert.equal(all, chunk.toString('utf8'));
});

test('issue-14: replay --events all into a file: the same bytes as the full path, planned lines written in place, check lines shipped', async () => {
  const events = rawEvents(3, 2500, 1);
  // The opens again, three times, with new ids: a host reading the same files (those lines come from plans).
  const again = [1, 2, 3].flatMap((r) =>
    events
      .filter((ev) => ev.ebpf.kind === 'open')
      .map((ev) => {
        const c = structuredClone(ev);
        c.event.id = `${ev.event.id}-r${r}`;
        c.event.sequence += 1_000_000 * r;
        return c;
      }),
  );
  const file = await writeCapture(join(dir, 'in.capture.gz'), [...events, ...again]);
  let planned = 0;
  let checked = 0;
  let checkedExits = 0;
  let exits = 0;
  const run = async (noFastPath: boolean): Promise<{ bytes: Buffer; inPlace: number }> => {
    const out = join(dir, `out-${noFastPath}.ndjson`);
    const sinks: NdjsonSink[] = [];
    await replay({
      inputs: [file],
      rules: { bundled: true, paths: [] },
      events: 'all',
      speed: 'max',
      skipBad: false,
      noFastPath,
      sinks: (host, agent) => {
        const s = new NdjsonSink({ target: out, format: lineFormatter('ecs', host, agent) });
        sinks.push(s);
        const count: Sink = {
          name: 'count',
          send: async (batch) => {
            for (const ce of batch) {
              if (ce instanceof PlannedEvent) planned++;
              if (ce instanceof CheckedEvent) checked++;
              if (ce instanceof CheckedEvent && ce.event.ebpf.kind === 'exit') checkedExits++;
              if (ce.event.ebpf.kind === 'exit') exits++;
            }
          },
          flush: async () => undefined,
          close: async () => undefined,
        };
        return [s, count];
      },
      localHost: () => ({ host: HOST, agent: AGENT }),
    });
    return { bytes: readFileSync(out), inPlace: sinks.reduce((n, s) => n + s.inPlace, 0) };
  };
  const full = await run(true);
  const fast = await run(false);
  assert.ok(full.bytes.length > 0);
  assert.ok(fast.bytes.equals(full.bytes), 'byte for byte the full path');
  assert.equal(full.inPlace, 0, 'built events: copied');
  // Only planned lines lie in chunks; in place are those in runs of two or more (here 66 of 339:
  // these synthetic events plan few lines in a row; the bench's steady capture, ≈ 99% of 200,000).
  assert.ok(planned > 200, `planned ${planned}`);
  // The first event of each plan key ships the line its plan was checked against (not serialized again).
  assert.ok(checked > 10, `events shipped with their plan's check line: ${checked}`);
  // No plan is built for an exit (a process exits once: its plan would never be used).
  assert.ok(exits > 10, `exits ${exits}`);
  assert.equal(checkedExits, 0, 'no exit had a plan built');
  assert.ok(fast.inPlace >= 40 && fast.inPlace <= planned, `planned lines written in place: ${fast.inPlace} of ${planned}`);
});
