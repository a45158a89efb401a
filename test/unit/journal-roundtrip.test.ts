import test from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Journal } from '../../src/journal/journal.js';
import { FORMAT_VERSION, SEGMENT_HEADER_BYTES, SH, crcOf } from '../../src/journal/format.js';
import { cursorFileName } from '../../src/journal/cursor-store.js';
import { isSensorError } from '../../src/errors.js';
import { HOSTILE, batchOf, classified, indexOf, tempDir } from '../helpers/journal-fixtures.js';
import type { ClassifiedEvent } from '../../src/model/event.js';

function readAll(j: Journal, from = 0): { events: ClassifiedEvent[]; positions: number[] } {
  const r = j.reader(from);
  const events: ClassifiedEvent[] = [];
  const positions: number[] = [];
  for (const rec of r) {
    events.push(rec.event);
    positions.push(rec.position);
  }
  r.close();
  return { events, positions };
}

test('append/read round trip keeps hostile strings and lone surrogates exactly', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const j = Journal.open(dir, { fsyncIntervalMs: 0 });
    const batch = HOSTILE.map((s, i) => {
      const ce = classified(i, s);
      ce.event.process.args = [s, 'x'];
      ce.event.ebpf.requested = { path: s };
      return ce;
    });
    const r = j.append(batch);
    assert.deepEqual(r, { first: 0, next: HOSTILE.length });
    const got = readAll(j);
    assert.deepEqual(got.positions, HOSTILE.map((_, i) => i));
    assert.deepEqual(got.events, batch);
    for (let i = 0; i < HOSTILE.length; i++) assert.equal(got.events[i]!.event.file!.path, HOSTILE[i]);
    await j.close();
    // and after reopening, from disk alone
    const again = Journal.open(dir, { readOnly: true });
    assert.deepEqual(readAll(again).events, batch);
    await again.close();
  } finally {
    cleanup();
  }
});

test('positions are consecutive across batches, segments and reopen; reading can start anywhere', async () => {
  const { dir, cleanup } = tempDir();
  try {
    let j = Journal.open(dir, { fsyncIntervalMs: 0, segmentBytes: 16 << 10, maxBytes: 64 << 20 });
    let next = 0;
    for (let b = 0; b < 30; b++) {
      const n = 1 + (b % 7);
      const r = j.append(batchOf(next, n));
      assert.equal(r.first, next);
      next += n;
      assert.equal(r.next, next);
    }
    assert.ok(j.stats().segments > 3, 'small segments roll');
    await j.close();
    j = Journal.open(dir, { fsyncIntervalMs: 0, segmentBytes: 16 << 10, maxBytes: 64 << 20 });
    assert.equal(j.nextPosition, next);
    assert.deepEqual(j.append(batchOf(next, 3)), { first: next, next: next + 3 });
    next += 3;
    const all = readAll(j);
    assert.deepEqual(all.positions, [...Array(next).keys()]);
    assert.deepEqual(all.events.map(indexOf), [...Array(next).keys()]);
    for (const start of [0, 1, 17, 40, next - 1, next]) {
      assert.deepEqual(readAll(j, start).positions, [...Array(next - start).keys()].map((k) => k + start), `from ${start}`);
    }
    // each segment is named after its first position
    const names = readdirSync(dir).filter((f) => f.endsWith('.seg'));
    const firsts = names.map((n) => Number(n.slice(0, 20)));
    for (const f of firsts) assert.equal(readAll(j, f).positions[0], f);
    await j.close();
  } finally {
    cleanup();
  }
});

test('read batches respect count and byte limits but always make progress', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const j = Journal.open(dir, { fsyncIntervalMs: 0 });
    j.append(batchOf(0, 100));
    const r = j.reader(0);
    const a = r.read(10, 1 << 20);
    assert.equal(a.records.length, 10);
    assert.equal(a.next, 10);
    const b = r.read(1000, 1500);
    assert.ok(b.records.length >= 2 && b.records.length <= 3, `about 1500 bytes of ~650-byte records, got ${b.records.length}`);
    const c = r.read(1000, 1);
    assert.equal(c.records.length, 1, 'a record larger than the byte limit still comes alone');
    r.close();
    await j.close();
  } finally {
    cleanup();
  }
});

test('fsync policy: interval mode makes records durable (and readable) within the interval, 0 before append returns', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const j = Journal.open(dir, { fsyncIntervalMs: 50 });
    j.append(batchOf(0, 10));
    assert.equal(j.durablePosition, 0, 'not yet synced');
    const r = j.reader(0);
    assert.equal(r.read().records.length, 0, 'readers see only durable records');
    assert.equal(await j.waitForData(0, 2000), true);
    assert.equal(j.durablePosition, 10);
    assert.equal(r.read().records.length, 10);
    j.append(batchOf(10, 5));
    assert.equal(await j.sync(), 15);
    assert.ok(j.stats().fsyncs >= 2);
    r.close();
    await j.close();

    const { dir: d2, cleanup: c2 } = tempDir();
    try {
      const k = Journal.open(d2, { fsyncIntervalMs: 0 });
      const before = k.stats().fsyncs;
      k.append(batchOf(0, 3));
      assert.equal(k.durablePosition, 3);
      assert.equal(k.stats().fsyncs, before + 1, 'one fdatasync per append batch');
      await k.close();
    } finally {
      c2();
    }
  } finally {
    cleanup();
  }
});

test('an in-process reader follows appends and waitForData wakes on new records', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const j = Journal.open(dir, { fsyncIntervalMs: 0, segmentBytes: 8 << 10 });
    const r = j.reader(j.nextPosition);
    const waiting = j.waitForData(0, 5000);
    setTimeout(() => j.append(batchOf(0, 40)), 20);
    assert.equal(await waiting, true);
    const got: number[] = [];
    for (;;) {
      const b = r.read(7);
      if (!b.records.length) break;
      got.push(...b.records.map((x) => x.position));
    }
    assert.deepEqual(got, [...Array(40).keys()]);
    assert.equal(await j.waitForData(40, 30), false, 'times out when nothing comes');
    r.close();
    await j.close();
  } finally {
    cleanup();
  }
});

test('cursors: committed atomically per sink, survive reopen, any sink name is a safe file name', async () => {
  const { dir, cleanup } = tempDir();
  try {
    let j = Journal.open(dir, { fsyncIntervalMs: 0 });
    j.append(batchOf(0, 20));
    const names = ['kafka', 'file:/var/log/../../etc/x.ndjson', 'élastic search', '..'];
    for (const [i, n] of names.entries()) await j.commitCursor(n, i * 5);
    await assert.rejects(j.commitCursor('kafka', 21), (e: unknown) => isSensorError(e, 'ESENSOR_INTERNAL'));
    const files = readdirSync(join(dir, 'cursors'));
    assert.equal(files.length, names.length, `no temp files left: ${files.join(',')}`);
    for (const f of files) assert.match(f, /^[A-Za-z0-9_%-]+\.cursor$/);
    assert.equal(cursorFileName('file:/a b'), 'file%3A%2Fa%20b.cursor');
    await j.close();
    j = Journal.open(dir, { fsyncIntervalMs: 0 });
    for (const [i, n] of names.entries()) assert.equal(j.cursor(n), i * 5);
    assert.deepEqual(j.stats().cursors, Object.fromEntries(names.map((n, i) => [n, i * 5])));
    // many concurrent commits of one cursor apply in order
    await Promise.all([1, 2, 3, 4, 5, 6].map((p) => j.commitCursor('kafka', p)));
    assert.equal(j.cursor('kafka'), 6);
    await j.close();
    j = Journal.open(dir, { fsyncIntervalMs: 0 });
    assert.equal(j.cursor('kafka'), 6);
    await j.close();
  } finally {
    cleanup();
  }
});

test('a damaged cursor file sends its sink back to the oldest record (duplicates, never a gap)', async () => {
  const { dir, cleanup } = tempDir();
  try {
    let j = Journal.open(dir, { fsyncIntervalMs: 0 });
    j.append(batchOf(0, 10));
    await j.commitCursor('es', 8);
    await j.close();
    writeFileSync(join(dir, 'cursors', cursorFileName('es')), '{"format":1,"name":"es","posi');
    j = Journal.open(dir, { fsyncIntervalMs: 0 });
    assert.equal(j.cursor('es'), 0);
    await j.close();
  } finally {
    cleanup();
  }
});

test('a segment of an unknown format version is refused with ESENSOR_JOURNAL_FORMAT naming the file', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const j = Journal.open(dir, { fsyncIntervalMs: 0 });
    j.append(batchOf(0, 3));
    await j.close();
    const seg = join(dir, readdirSync(dir).find((f) => f.endsWith('.seg'))!);
    const buf = readFileSync(seg);
    buf.writeUInt16LE(FORMAT_VERSION + 1, SH.version);
    buf.writeUInt32LE(crcOf(buf, 0, SH.crc), SH.crc); // a valid header of a newer format, not damage
    writeFileSync(seg, buf);
    for (const readOnly of [false, true]) {
      assert.throws(
        () => Journal.open(dir, { readOnly }),
        (e: unknown) => isSensorError(e, 'ESENSOR_JOURNAL_FORMAT') && e.file === seg && new RegExp(`format version ${FORMAT_VERSION + 1}`).test(e.message),
      );
    }
    // the refused writer released its lock
    assert.ok(!readdirSync(dir).includes('LOCK'));
    assert.equal(statSync(seg).size, buf.length, 'and changed nothing');
    assert.ok(buf.length > SEGMENT_HEADER_BYTES);
  } finally {
    cleanup();
  }
});

test('one writer per directory: a second open is refused while the first is open, read-only opens are allowed', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const j = Journal.open(dir, { fsyncIntervalMs: 0 });
    assert.throws(() => Journal.open(dir), (e: unknown) => isSensorError(e, 'ESENSOR_JOURNAL_IO'));
    j.append(batchOf(0, 4));
    const ro = Journal.open(dir, { readOnly: true });
    assert.deepEqual(readAll(ro).positions, [0, 1, 2, 3]);
    assert.throws(() => ro.append(batchOf(4, 1)), (e: unknown) => isSensorError(e, 'ESENSOR_INTERNAL'));
    j.append(batchOf(4, 2));
    const r = ro.reader(4);
    assert.deepEqual(
      r.read().records.map((x) => x.position),
      [4, 5],
      'a read-only reader sees what the writer appends later',
    );
    r.close();
    await ro.close();
    await j.close();
    const k = Journal.open(dir, { fsyncIntervalMs: 0 });
    assert.equal(k.nextPosition, 6);
    await k.close();
  } finally {
    cleanup();
  }
});
