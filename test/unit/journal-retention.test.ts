import test from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Journal, type RetentionEvent } from '../../src/journal/journal.js';
import { batchOf, tempDir } from '../helpers/journal-fixtures.js';

function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort();
}

function diskBytes(dir: string): number {
  return segmentFiles(dir).reduce((a, f) => a + statSync(join(dir, f)).size, 0);
}

test('size bound: the oldest segments are deleted, the journal stays within maxBytes, deletions are reported', async () => {
  const { dir, cleanup } = tempDir('retention-');
  try {
    const events: RetentionEvent[] = [];
    const maxBytes = 64 << 10;
    const j = Journal.open(dir, { fsyncIntervalMs: 0, maxBytes, segmentBytes: 8 << 10, onRetention: (e) => events.push(e) });
    let next = 0;
    for (let b = 0; b < 100; b++) {
      j.append(batchOf(next, 4));
      next += 4;
      // one batch is ~3.6 KB: the bound holds up to the batch being written
      assert.ok(diskBytes(dir) <= maxBytes + 4096, `bytes on disk ${diskBytes(dir)} after batch ${b}`);
    }
    const st = j.stats();
    assert.ok(events.length > 0);
    assert.ok(events.every((e) => e.reason === 'size'));
    assert.equal(st.deleted.segments, events.length);
    assert.equal(st.deleted.bySize, events.length);
    assert.equal(st.bytes, diskBytes(dir), 'stats agree with the files');
    // deletions are contiguous from 0 up to the first stored position
    let expect = 0;
    for (const e of events) {
      assert.equal(e.from, expect);
      expect = e.to;
    }
    assert.equal(j.firstPosition, expect);
    assert.equal(st.deleted.positions, expect);
    assert.equal(Number(segmentFiles(dir)[0]!.slice(0, 20)), j.firstPosition);
    await j.close();
  } finally {
    cleanup();
  }
});

test('retention counts the gap per cursor: each reader reports exactly the positions deleted ahead of it', async () => {
  const { dir, cleanup } = tempDir('retention-');
  try {
    const j = Journal.open(dir, { fsyncIntervalMs: 0, maxBytes: 48 << 10, segmentBytes: 8 << 10 });
    j.append(batchOf(0, 20));
    await j.commitCursor('lagging', 3);
    await j.commitCursor('middle', 15);
    let next = 20;
    while (j.firstPosition <= 30) {
      j.append(batchOf(next, 5));
      next += 5;
    }
    await j.commitCursor('current', next);
    const first = j.firstPosition;
    for (const [name, expected] of [
      ['lagging', first - 3],
      ['middle', first - 15],
      ['current', 0],
    ] as const) {
      const r = j.reader(j.cursor(name)!);
      const b = r.read(100000, 1 << 30);
      if (expected > 0) {
        assert.deepEqual(b.skipped, [{ from: j.cursor(name), to: first, reason: 'retention' }], name);
        assert.equal(b.records[0]!.position, first, name);
        assert.equal(b.records.length, next - first, name);
      } else {
        assert.deepEqual(b.skipped, [], name);
        assert.equal(b.records.length, 0, name);
      }
      assert.equal(r.skippedRetention, expected, name);
      r.close();
    }
    await j.close();
  } finally {
    cleanup();
  }
});

test('age bound: segments whose newest record is older than maxAgeSeconds are deleted; an old active segment is rolled', async () => {
  const { dir, cleanup } = tempDir('retention-');
  try {
    let now = 1_800_000_000_000;
    const events: RetentionEvent[] = [];
    const maxAgeSeconds = 3600;
    const j = Journal.open(dir, {
      fsyncIntervalMs: 0,
      maxAgeSeconds,
      segmentBytes: 8 << 10,
      now: () => now,
      onRetention: (e) => events.push(e),
    });
    // t0: two sealed segments and an active one
    let next = 0;
    while (j.stats().segments < 3) {
      j.append(batchOf(next, 4));
      next += 4;
    }
    const segsAtT0 = j.stats().segments;
    now += 10 * 60_000; // 10 minutes: nothing is old
    assert.deepEqual(j.enforceRetention(), []);
    now += 6 * 60_000; // 16 minutes > maxAge/4: the active segment, which holds records from t0, is sealed
    assert.deepEqual(j.enforceRetention(), []);
    assert.equal(j.stats().segments, segsAtT0 + 1);
    j.append(batchOf(next, 2)); // a record at t0+16min in the new segment
    next += 2;
    now += 50 * 60_000; // t0+66min: the segments sealed at t0 are older than an hour
    const deleted = j.enforceRetention();
    assert.equal(deleted.length, segsAtT0 - 1, 'the segments sealed at t0 are gone');
    // The one sealed at t0+16min counts as that old (its newest record could be): it goes at t0+76min,
    // so a record lives at most maxAge + maxAge/4.
    now += 9 * 60_000;
    assert.deepEqual(j.enforceRetention(), []);
    now += 2 * 60_000;
    deleted.push(...j.enforceRetention());
    assert.equal(deleted.length, segsAtT0);
    assert.ok(deleted.every((e) => e.reason === 'age'));
    assert.deepEqual(deleted, events);
    assert.equal(j.stats().deleted.byAge, segsAtT0);
    const r = j.reader(0);
    const b = r.read();
    assert.deepEqual(b.skipped, [{ from: 0, to: next - 2, reason: 'retention' }]);
    assert.deepEqual(
      b.records.map((x) => x.position),
      [next - 2, next - 1],
      'the young records stay',
    );
    r.close();
    await j.close();
  } finally {
    cleanup();
  }
});

test('retention applies at open too, and never deletes the segment being written', async () => {
  const { dir, cleanup } = tempDir('retention-');
  try {
    let j = Journal.open(dir, { fsyncIntervalMs: 0, maxBytes: 1 << 20, segmentBytes: 8 << 10 });
    for (let i = 0; i < 40; i++) j.append(batchOf(i * 4, 4));
    const before = j.stats().segments;
    assert.ok(before > 4);
    await j.close();
    j = Journal.open(dir, { fsyncIntervalMs: 0, maxBytes: 16 << 10, segmentBytes: 8 << 10 });
    assert.ok(j.stats().segments <= 2, `reopened with a smaller bound: ${j.stats().segments} segments`);
    assert.ok(j.stats().bytes <= 16 << 10);
    // a journal of one huge batch keeps it
    const { dir: d2, cleanup: c2 } = tempDir('retention-');
    try {
      const k = Journal.open(d2, { fsyncIntervalMs: 0, maxBytes: 8 << 10, segmentBytes: 4 << 10 });
      k.append(batchOf(0, 50)); // ~45 KB in the one active segment
      assert.equal(k.stats().segments, 1);
      assert.equal(k.reader(0).read(100).records.length, 50);
      await k.close();
    } finally {
      c2();
    }
    await j.close();
  } finally {
    cleanup();
  }
});
