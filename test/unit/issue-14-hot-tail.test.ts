// issue-14 (delivery cost): a delivery that keeps up takes the records the
// journal just wrote from memory (the hot tail: the bytes written, no read(2),
// no second CRC check) — and ships exactly what a delivery reading the files
// ships. A reader that falls behind the tail reads the files on from the exact
// record; views handed out of the tail are never written over before release;
// only durable records are given; a restart reads the files.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineFormatter, journalSections } from '../../src/pipeline/outputs.js';
import { Journal, ShippedRecord, type JournalRecord } from '../../src/journal/journal.js';
import { HotTail } from '../../src/journal/hot-tail.js';
import type { ClassifiedEvent, OutputFormat } from '../../src/model/event.js';
import { Delivery } from '../../src/sinks/delivery.js';
import { NdjsonSink } from '../../src/sinks/ndjson-sink.js';
import type { LineFormatter } from '../../src/sinks/sink.js';
import { corpus, HOST, AGENT } from '../helpers/normalize-corpus.js';
import { HOSTILE, tempDir } from '../helpers/journal-fixtures.js';

const base = corpus();
/** `n` events with distinct ids; every fifth with a hostile path (some stored canonical, raw bytes). */
const events = (from: number, n: number): ClassifiedEvent[] =>
  Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const ce = structuredClone(base[i % base.length]!);
    ce.event.event.id = `hot-${i}`;
    if (i % 5 === 0) ce.event.process.working_directory = HOSTILE[i % HOSTILE.length]!;
    return ce;
  });
const sections = journalSections(new Map<OutputFormat, LineFormatter>([['ecs', lineFormatter('ecs', HOST, AGENT)]]));

/** What a record ships and stands for: its position, time, ECS bytes and event. */
function shipped(r: JournalRecord): string {
  assert.ok(r instanceof ShippedRecord);
  return JSON.stringify([r.position, r.time, r.bytes, r.ship.shipped!('ecs')!.toString('latin1'), r.event]);
}

test('issue-14: a reader that keeps up takes every record from the hot tail, and gets what a file reader gets, byte for byte', () => {
  const { dir, cleanup } = tempDir('issue14-hot-');
  try {
    const j = Journal.open(dir, { fsyncIntervalMs: 0, segmentBytes: 512 << 10 });
    const hot = j.reader(0, { ship: true, recycle: true });
    const got: string[] = [];
    let next = 0;
    for (let round = 0; round < 40; round++) {
      const batch = events(next, 1 + (round % 9));
      next += batch.length;
      j.append(batch, sections);
      const r = hot.read(1000, 1 << 30);
      assert.equal(r.records.length, batch.length);
      assert.deepEqual(r.skipped, []);
      for (const rec of r.records) got.push(shipped(rec));
      hot.release();
    }
    assert.equal(hot.tailRecords, next, 'every record came from memory');
    const file = j.reader(0, { ship: true }); // no recycling: always the files
    const want = file.read(1 << 20, 1 << 30).records.map(shipped);
    assert.equal(file.tailRecords, 0);
    assert.deepEqual(got, want);
    assert.ok(j.stats().segments > 1, 'the records span segments');
    hot.close();
    file.close();
    void j.close();
  } finally {
    cleanup();
  }
});

test('issue-14: a reader that falls behind the hot tail reads the files on from the exact record, then the tail again', () => {
  const { dir, cleanup } = tempDir('issue14-hot-lag-');
  try {
    const j = Journal.open(dir, { fsyncIntervalMs: 0, segmentBytes: 1 << 20, hotTailBytes: 64 << 10 });
    const r = j.reader(0, { ship: true, recycle: true, chunkBytes: 32 << 10 });
    const got: string[] = [];
    let next = 0;
    const append = (n: number): void => {
      j.append(events(next, n), sections);
      next += n;
    };
    const drain = (): void => {
      for (;;) {
        const res = r.read(7, 1 << 30);
        assert.deepEqual(res.skipped, []);
        if (!res.records.length) break;
        for (const rec of res.records) got.push(shipped(rec));
        r.release();
      }
    };
    for (let phase = 0; phase < 6; phase++) {
      append(5); // kept up with: from the tail
      const before = r.tailRecords;
      drain();
      assert.equal(r.tailRecords - before, 5);
      for (let k = 0; k < 30; k++) append(10); // far more than the tail holds: the first ones only in the files now
      drain();
    }
    assert.ok(r.tailRecords < next, 'some records were read from the files');
    const want = j.reader(0, { ship: true }).read(1 << 20, 1 << 30).records.map(shipped);
    assert.equal(got.length, next);
    assert.deepEqual(got, want);
    assert.equal(j.stats().damage.regions, 0);
    r.close();
    void j.close();
  } finally {
    cleanup();
  }
});

test('issue-14: a reader that stopped inside a run, released, and lagged while the tail dropped that run and wrote its chunk over reads on from the files, not the stale run', () => {
  // Found by the delivery-e2e Kafka outage: a sink in backoff lagged, its next read used the run it
  // had cached, whose chunk the tail had reused for newer records.
  const { dir, cleanup } = tempDir('issue14-hot-stale-');
  try {
    const j = Journal.open(dir, { fsyncIntervalMs: 0, segmentBytes: 64 << 20, hotTailBytes: 64 << 10 });
    const tail = j.hotTail!;
    const r = j.reader(0, { ship: true, recycle: true });
    let next = 0;
    const append = (n: number): void => {
      j.append(events(next, n), sections);
      next += n;
    };
    append(10);
    const got = r.read(3, 1 << 30).records.map(shipped);
    assert.equal(got.length, 3);
    assert.equal(r.tailRecords, 3);
    r.release();
    // Far more than the tail and its spare chunks hold: the first run's chunk is written into again.
    const allocated = tail.allocated;
    while (tail.allocated === allocated || next < 10 + 4000) append(20);
    for (;;) {
      const res = r.read(500, 1 << 30);
      assert.deepEqual(res.skipped, []);
      if (!res.records.length) break;
      for (const rec of res.records) got.push(shipped(rec));
      r.release();
    }
    const want = j.reader(0, { ship: true }).read(1 << 20, 1 << 30).records.map(shipped);
    assert.equal(got.length, next);
    for (let i = 0; i < want.length; i++) assert.equal(got[i], want[i], `record ${i}`);
    r.close();
    void j.close();
  } finally {
    cleanup();
  }
});

test('issue-14: only durable records come from the hot tail, as from the files', async () => {
  const { dir, cleanup } = tempDir('issue14-hot-durable-');
  try {
    const j = Journal.open(dir, { fsyncIntervalMs: 60_000 });
    const r = j.reader(0, { ship: true, recycle: true });
    j.append(events(0, 4), sections);
    assert.equal(r.read().records.length, 0, 'not fsync-ed yet: not readable');
    assert.equal(await j.sync(), 4);
    assert.equal(r.read().records.length, 4);
    assert.equal(r.tailRecords, 4);
    r.close();
    await j.close();
  } finally {
    cleanup();
  }
});

test('issue-14: views out of the hot tail stay intact until release, then its chunks are reused', () => {
  const { dir, cleanup } = tempDir('issue14-hot-views-');
  try {
    const j = Journal.open(dir, { fsyncIntervalMs: 0, hotTailBytes: 256 << 10 });
    const tail = j.hotTail!;
    const r = j.reader(0, { ship: true, recycle: true });
    let next = 0;
    const kept: Array<[JournalRecord, string]> = [];
    // Several MiB appended (and dropped from the tail) while the first records are still held: their chunk must not be written over.
    for (let round = 0; round < 200; round++) {
      const batch = events(next, 8);
      next += batch.length;
      j.append(batch, sections);
      const res = r.read(1000, 1 << 30);
      for (const rec of res.records) if (round < 3) kept.push([rec, shipped(rec)]);
      for (const [rec, text] of kept) assert.equal(shipped(rec), text);
    }
    assert.equal(tail.runFor(0), undefined, 'the first records left the tail');
    assert.ok(kept.length > 0 && r.tailRecords === next);
    const held = tail.allocated;
    r.release();
    for (let round = 0; round < 400; round++) {
      j.append(events(next, 8), sections);
      next += 8;
      r.read(1000, 1 << 30);
      r.release();
    }
    // After release the same few chunks take the appends.
    assert.ok(tail.allocated <= held + 1, `tail chunks allocated: ${held} then ${tail.allocated}`);
    r.close();
    void j.close();
  } finally {
    cleanup();
  }
});

test('issue-14: a hot tail drops its oldest runs past its size and finds positions in the rest', () => {
  const t = new HotTail(3000);
  const rec = (len: number): Buffer => {
    const b = Buffer.alloc(32 + len);
    b.writeUInt32LE(len, 4);
    return b;
  };
  let pos = 0;
  for (let i = 0; i < 10; i++) {
    const batch = Buffer.concat([rec(200), rec(300), rec(400)]);
    t.add(batch, batch.length, pos, 0, 64 + i * batch.length);
    pos += 3;
  }
  // 996 bytes a run, 3000 kept: the last 3 runs (positions 21–29); older ones gone.
  assert.equal(t.runFor(20), undefined);
  const run = t.runFor(22)!;
  assert.equal(run.first, 21);
  assert.equal(run.next, 24);
  assert.deepEqual(
    run.offs.map((o) => o - run.offs[0]!),
    [0, 232, 564, 996],
  );
  assert.equal(run.fileOff, 64 + 7 * 996);
  assert.equal(t.runFor(30), undefined);
  assert.equal(t.runFor(29)!.first, 27);
});

test('issue-14: a delivery that keeps up and one that reads the files (started after a restart) write identical files', async () => {
  const { dir, cleanup } = tempDir('issue14-hot-deliv-');
  try {
    const jdir = join(dir, 'j');
    const fmt = lineFormatter('ecs', HOST, AGENT);
    let j = Journal.open(jdir, { fsyncIntervalMs: 0, segmentBytes: 256 << 10 });
    const liveFile = join(dir, 'live.ndjson');
    const live = new NdjsonSink({ target: liveFile, format: fmt });
    const d = Delivery.start(j, live, { name: 'live', batch: { count: 50, bytes: 1 << 20, ms: 5 } });
    let next = 0;
    for (let round = 0; round < 60; round++) {
      j.append(events(next, 11), sections);
      next += 11;
      await new Promise((res) => setImmediate(res));
    }
    assert.ok(await d.drained(60_000), 'live delivery drained');
    await d.stop();
    await live.close();
    await j.close();
    // Reopened: the tail is empty, a new sink reads every record from the files.
    j = Journal.open(jdir, { fsyncIntervalMs: 0 });
    const laterFile = join(dir, 'later.ndjson');
    const later = new NdjsonSink({ target: laterFile, format: fmt });
    const d2 = Delivery.start(j, later, { name: 'later' });
    assert.ok(await d2.drained(60_000), 'later delivery drained');
    await d2.stop();
    await later.close();
    const a = readFileSync(liveFile);
    assert.equal(a.toString('utf8').split('\n').length - 1, next);
    assert.ok(a.equals(readFileSync(laterFile)), 'the two files differ');
    await j.close();
  } finally {
    cleanup();
  }
});

test('issue-14: views of a reader closed without release (a send abandoned at stop) are never written over', () => {
  const { dir, cleanup } = tempDir('issue14-hot-close-');
  try {
    const j = Journal.open(dir, { fsyncIntervalMs: 0, hotTailBytes: 128 << 10 });
    const r = j.reader(0, { ship: true, recycle: true });
    j.append(events(0, 8), sections);
    const kept = r.read(1000, 1 << 30).records.map((rec) => [rec, shipped(rec)] as const);
    assert.equal(r.tailRecords, 8);
    r.close();
    // Other readers keep up and release while megabytes go through the tail.
    const other = j.reader(8, { ship: true, recycle: true });
    for (let i = 0; i < 300; i++) {
      j.append(events(8 + i * 8, 8), sections);
      other.read(1000, 1 << 30);
      other.release();
    }
    for (const [rec, text] of kept) assert.equal(shipped(rec), text);
    other.close();
    void j.close();
  } finally {
    cleanup();
  }
});
