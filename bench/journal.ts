/**
 * Journal throughput on one core: appending (with fdatasync every 100 ms and
 * with one per batch), reading back (with JSON parsing), and delivery to a
 * sink that does nothing (reading plus one durable cursor commit per batch).
 * Events are ~600-byte canonical events (test/helpers/journal-fixtures.ts).
 * Prints numbers; asserts nothing. Writes to a temp directory on the disk of
 * os.tmpdir() (JOURNAL_BENCH_DIR overrides), removed afterwards.
 *
 *   npx tsc -p tsconfig.json && taskset -c 0 node dist/bench/journal.js [seconds-per-case]
 *
 * Target (issue #7): >= 300,000 events/s appended with fsync every 100 ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../src/journal/journal.js';
import { Delivery } from '../src/sinks/delivery.js';
import type { Sink } from '../src/sinks/sink.js';
import type { ClassifiedEvent } from '../src/model/event.js';
import { batchOf } from '../test/helpers/journal-fixtures.js';

const seconds = Number(process.argv[2] ?? 3);
const root = mkdtempSync(join(process.env.JOURNAL_BENCH_DIR ?? tmpdir(), 'ebpf-sensor-bench-journal-'));
/** The fixture events without their optional extras: ~600 bytes of JSON, as the issue sizes them. */
function compact(ce: ClassifiedEvent): ClassifiedEvent {
  const e = ce.event;
  const p = e.process;
  e.file = { path: e.file!.path };
  e.user = { id: e.user.id };
  e.group = { id: e.group.id };
  p.user = { id: p.user.id };
  p.group = { id: p.group.id };
  p.parent = { pid: p.parent.pid, name: p.parent.name! };
  delete p.args;
  return ce;
}
const large = batchOf(0, 20_000);
const small = batchOf(0, 20_000).map(compact);
let pool = small;
const avgBytes = (evs: ClassifiedEvent[]): number => Math.round(evs.reduce((a, ce) => a + Buffer.byteLength(JSON.stringify(ce)), 0) / evs.length);

interface Row {
  name: string;
  events: number;
  bytes: number;
  elapsed: number;
  /** CPU seconds of this process (all threads, user + system) over the case. */
  cpu: number;
}

let cpuMark = process.cpuUsage();

/** Start measuring CPU time for the next report(). */
function mark(): void {
  cpuMark = process.cpuUsage();
}

function report(r: Omit<Row, 'cpu'>): void {
  const u = process.cpuUsage(cpuMark);
  const row: Row = { ...r, cpu: (u.user + u.system) / 1e6 };
  const eps = Math.round(row.events / row.elapsed).toLocaleString('en-US');
  const cps = Math.round(row.events / row.cpu).toLocaleString('en-US');
  const mbs = (row.bytes / row.cpu / 1048576).toFixed(1);
  // per CPU-second: what one core does, however busy the rest of the machine is
  console.log(`${row.name.padEnd(56)} ${eps.padStart(9)} events/wall-s ${cps.padStart(9)} events/CPU-s ${mbs.padStart(6)} MB/CPU-s`);
}

let caseNo = 0;

/** Append batches of `batch` events for `seconds`; returns the journal dir. */
async function appendCase(name: string, fsyncIntervalMs: number, batch: number): Promise<string> {
  const dir = join(root, `case-${caseNo++}`);
  const j = Journal.open(dir, { fsyncIntervalMs, maxBytes: 8 * 2 ** 30, segmentBytes: 64 << 20 });
  const batches: ClassifiedEvent[][] = [];
  for (let i = 0; i + batch <= pool.length; i += batch) batches.push(pool.slice(i, i + batch));
  // warm up the JIT
  for (let i = 0; i < 20; i++) j.append(batches[i % batches.length]!);
  await j.sync();
  const start = j.stats().appended;
  mark();
  const t0 = process.hrtime.bigint();
  const until = t0 + BigInt(Math.round(seconds * 1e9));
  let now = t0;
  let k = 0;
  while (now < until) {
    j.append(batches[k++ % batches.length]!);
    // Let the fsync callback and timers run, as the live pipeline does between kernel chunks.
    if (k % 8 === 0) await new Promise<void>((r) => setImmediate(r));
    now = process.hrtime.bigint();
  }
  await j.sync(); // count the time until everything appended is durable
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const s = j.stats();
  report({ name, events: s.appended.records - start.records, bytes: s.appended.bytes - start.bytes, elapsed });
  console.log(`${''.padEnd(56)} ${s.fsyncs} fdatasyncs, ${s.segments} segments`);
  await j.close();
  return dir;
}

async function readCase(dir: string): Promise<void> {
  const j = Journal.open(dir, { readOnly: true });
  const r = j.reader(0);
  mark();
  const t0 = process.hrtime.bigint();
  let events = 0;
  let bytes = 0;
  for (;;) {
    const b = r.read(1000, 4 << 20);
    if (!b.records.length) break;
    events += b.records.length;
    bytes += b.bytes;
  }
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  report({ name: 'read + JSON.parse (reader.read, 1000 per call)', events, bytes, elapsed });
  r.close();
  await j.close();
}

async function deliveryCase(dir: string, count: number): Promise<void> {
  const j = Journal.open(dir, { fsyncIntervalMs: 100, maxBytes: 8 * 2 ** 30 });
  let events = 0;
  const sink: Sink = {
    name: `null-${count}`,
    send: async (b) => {
      events += b.length;
    },
    flush: async () => {},
    close: async () => {},
  };
  mark();
  const t0 = process.hrtime.bigint();
  const d = Delivery.start(j, sink, { batch: { count, bytes: 64 << 20, ms: 0 } });
  await d.drained(600_000);
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const st = d.stats();
  report({ name: `delivery to a null sink, batches of ${count} (commit each)`, events, bytes: 0, elapsed });
  console.log(`${''.padEnd(56)} ${st.delivered.batches} batches, ${((elapsed / st.delivered.batches) * 1000).toFixed(2)} ms per batch`);
  await d.stop();
  await j.close();
}

console.log(`journal benchmark: node ${process.version}, ${seconds} s per case, ${avgBytes(small)}-byte events (JSON), dir ${root}`);
/** The serialization alone: the ceiling of any JSON journal on this CPU. */
function stringifyCase(): void {
  mark();
  const t0 = process.hrtime.bigint();
  const until = t0 + BigInt(Math.round(seconds * 1e9));
  let events = 0;
  let bytes = 0;
  while (process.hrtime.bigint() < until) {
    for (const ce of pool) bytes += JSON.stringify(ce).length;
    events += pool.length;
  }
  report({ name: 'JSON.stringify alone (no journal), for reference', events, bytes, elapsed: Number(process.hrtime.bigint() - t0) / 1e9 });
}

try {
  stringifyCase();
  const d100 = await appendCase('append, batches of 1000, fsync every 100 ms', 100, 1000);
  await appendCase('append, batches of 100, fsync every 100 ms', 100, 100);
  await appendCase('append, batches of 1000, fsync per batch', 0, 1000);
  await appendCase('append, batches of 100, fsync per batch', 0, 100);
  await readCase(d100);
  await deliveryCase(d100, 1000);
  await deliveryCase(d100, 100);
  pool = large;
  console.log(`with ${avgBytes(large)}-byte events (more optional fields filled in):`);
  await appendCase('append, batches of 1000, fsync every 100 ms', 100, 1000);
} finally {
  rmSync(root, { recursive: true, force: true });
}
console.log(`RSS ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB`);
