import test from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, truncateSync, unlinkSync, statSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { Journal, type JournalDamage } from '../../src/journal/journal.js';
import { RECORD_HEADER_BYTES, RH, SEGMENT_HEADER_BYTES, SH } from '../../src/journal/format.js';
import { batchOf, indexOf, tempDir } from '../helpers/journal-fixtures.js';

/**
 * Three sealed segments of 20 records each (positions 0-59) plus the active
 * one with 10 (60-69). Every test damages the files of a closed journal and
 * asserts exactly which records a reader still gets.
 */
const PER_SEGMENT = 20;
const TOTAL = 70;

interface Rec {
  position: number;
  offset: number;
  end: number;
}

interface Fixture {
  dir: string;
  segs: string[];
  /** Record layout of each segment file, as written. */
  layout: Rec[][];
  cleanup: () => void;
}

async function build(): Promise<Fixture> {
  const { dir, cleanup } = tempDir('corrupt-');
  const j = Journal.open(dir, { fsyncIntervalMs: 0, segmentBytes: 1 << 20 });
  for (let s = 0; s < 3; s++) {
    j.append(batchOf(s * PER_SEGMENT, PER_SEGMENT));
    // force a roll after every 20 records: the age roll needs a clock, so use the size bound instead
    (j as unknown as { roll(): void }).roll();
  }
  j.append(batchOf(60, 10));
  await j.close();
  const segs = readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort()
    .map((f) => join(dir, f));
  assert.equal(segs.length, 4);
  const layout = segs.map((f) => {
    const buf = readFileSync(f);
    const out: Rec[] = [];
    for (let off = SEGMENT_HEADER_BYTES; off < buf.length; ) {
      const len = buf.readUInt32LE(off + RH.length);
      out.push({ position: buf.readUInt32LE(off + RH.position), offset: off, end: off + RECORD_HEADER_BYTES + len });
      off += RECORD_HEADER_BYTES + len;
    }
    return out;
  });
  return { dir, segs, layout, cleanup };
}

function mutate(file: string, f: (b: Buffer) => void): void {
  const b = readFileSync(file);
  f(b);
  writeFileSync(file, b);
}

interface ReadBack {
  positions: number[];
  skipped: Array<{ from: number; to: number; reason: string }>;
  damage: JournalDamage[];
  journal: Journal;
}

function readBack(dir: string, readOnly = false): ReadBack {
  const damage: JournalDamage[] = [];
  const journal = Journal.open(dir, { fsyncIntervalMs: 0, readOnly, onDamage: (d) => damage.push(d) });
  const r = journal.reader(0);
  const positions: number[] = [];
  const skipped: ReadBack['skipped'] = [];
  for (;;) {
    const b = r.read(1000);
    for (const rec of b.records) {
      assert.equal(indexOf(rec.event), rec.position, 'record content belongs to its position');
      positions.push(rec.position);
    }
    skipped.push(...b.skipped.map((s) => ({ from: s.from, to: s.to, reason: s.reason })));
    if (!b.records.length && !b.skipped.length) break;
  }
  r.close();
  return { positions, skipped, damage, journal };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k);
const without = (lost: number[]): number[] => range(0, TOTAL).filter((p) => !lost.includes(p));

test('undamaged fixture reads back whole', async () => {
  const fx = await build();
  try {
    const rb = readBack(fx.dir);
    assert.deepEqual(rb.positions, range(0, TOTAL));
    assert.deepEqual(rb.skipped, []);
    assert.deepEqual(rb.damage, []);
    await rb.journal.close();
  } finally {
    fx.cleanup();
  }
});

test('bit flip in a payload loses exactly that record; damage names file and offset; appends go on', async () => {
  const fx = await build();
  try {
    const rec = fx.layout[1]![5]!; // position 25
    mutate(fx.segs[1]!, (b) => {
      b[rec.offset + RECORD_HEADER_BYTES + 100]! ^= 0x04;
    });
    const rb = readBack(fx.dir);
    assert.deepEqual(rb.positions, without([25]));
    assert.deepEqual(rb.skipped, [{ from: 25, to: 26, reason: 'damaged' }]);
    assert.deepEqual(rb.damage, [{ file: fx.segs[1], offset: rec.offset, bytes: rec.end - rec.offset, reason: 'bad-payload' }]);
    assert.equal(rb.journal.stats().damage.regions, 1);
    // the sensor keeps running: appends continue and are readable
    assert.deepEqual(rb.journal.append(batchOf(70, 2)), { first: 70, next: 72 });
    const tail = rb.journal.reader(69).read();
    assert.deepEqual(
      tail.records.map((r) => r.position),
      [69, 70, 71],
    );
    await rb.journal.close();
  } finally {
    fx.cleanup();
  }
});

test('bit flips in a record header (magic, position, length, crc) lose exactly that record', async () => {
  for (const [field, byte] of [
    ['magic', RH.magic + 1],
    ['position', RH.position],
    ['length (low byte)', RH.length],
    ['length (high byte)', RH.length + 3],
    ['time', RH.time + 2],
    ['payload crc', RH.payloadCrc],
    ['header crc', RH.headerCrc + 1],
  ] as const) {
    const fx = await build();
    try {
      const rec = fx.layout[2]![10]!; // position 50
      mutate(fx.segs[2]!, (b) => {
        b[rec.offset + byte]! ^= 0x10;
      });
      const rb = readBack(fx.dir);
      assert.deepEqual(rb.positions, without([50]), field);
      assert.deepEqual(rb.skipped, [{ from: 50, to: 51, reason: 'damaged' }], field);
      assert.equal(rb.damage.length, 1, field);
      assert.equal(rb.damage[0]!.file, fx.segs[2], field);
      assert.equal(rb.damage[0]!.offset, rec.offset, field);
      assert.equal(rb.damage[0]!.bytes, rec.end - rec.offset, `${field}: resync lands on the next record`);
      await rb.journal.close();
    } finally {
      fx.cleanup();
    }
  }
});

test('a zeroed 4 KiB block in the middle of a segment loses exactly the records it touches', async () => {
  const fx = await build();
  try {
    const recs = fx.layout[1]!;
    const start = recs[3]!.offset + 200; // inside position 23
    const end = start + 4096;
    mutate(fx.segs[1]!, (b) => b.fill(0, start, end));
    const lost = recs.filter((r) => r.end > start && r.offset < end).map((r) => r.position);
    assert.ok(lost.length >= 4, `the block spans several records (${lost.join(',')})`);
    const rb = readBack(fx.dir);
    assert.deepEqual(rb.positions, without(lost));
    assert.deepEqual(rb.skipped, [{ from: lost[0]!, to: lost[lost.length - 1]! + 1, reason: 'damaged' }]);
    assert.equal(rb.damage.length, 1);
    const firstLost = recs.find((r) => r.position === lost[0])!;
    const firstKept = recs.find((r) => r.position === lost[lost.length - 1]! + 1)!;
    assert.deepEqual(rb.damage[0], { file: fx.segs[1], offset: firstLost.offset, bytes: firstKept.offset - firstLost.offset, reason: 'bad-payload' }); // its header is intact; the resync then passes the zeros
    await rb.journal.close();
  } finally {
    fx.cleanup();
  }
});

test('a sealed segment cut in half keeps its first half and continues with the next segment', async () => {
  const fx = await build();
  try {
    const rec = fx.layout[1]![10]!; // position 30
    truncateSync(fx.segs[1]!, rec.offset + 40); // mid-record
    const rb = readBack(fx.dir);
    assert.deepEqual(rb.positions, without(range(30, 40)));
    assert.deepEqual(rb.skipped, [{ from: 30, to: 40, reason: 'damaged' }]);
    assert.deepEqual(
      rb.damage.map((d) => [d.file, d.offset, d.reason]),
      [
        [fx.segs[1], rec.offset, 'truncated'],
        [fx.segs[1], rec.offset + 40, 'missing-records'],
      ],
    );
    await rb.journal.close();
  } finally {
    fx.cleanup();
  }
});

test('a deleted segment in the middle is a counted gap; the records around it are kept', async () => {
  const fx = await build();
  try {
    unlinkSync(fx.segs[1]!);
    const rb = readBack(fx.dir);
    assert.deepEqual(rb.positions, without(range(20, 40)));
    assert.deepEqual(rb.skipped, [{ from: 20, to: 40, reason: 'damaged' }]);
    assert.equal(rb.damage.length, 1);
    assert.equal(rb.damage[0]!.reason, 'missing-records');
    await rb.journal.close();
  } finally {
    fx.cleanup();
  }
});

test('a damaged segment header is reported; its records are still read', async () => {
  const fx = await build();
  try {
    mutate(fx.segs[2]!, (b) => {
      b[SH.base]! ^= 0xff;
    });
    const rb = readBack(fx.dir);
    assert.deepEqual(rb.positions, range(0, TOTAL));
    assert.deepEqual(
      rb.damage.map((d) => [d.file, d.offset, d.reason]),
      [[fx.segs[2], 0, 'bad-segment-header']],
    );
    await rb.journal.close();
  } finally {
    fx.cleanup();
  }
});

test('torn tail (last segment cut mid-record) is repaired at open: good records kept, appends continue at the next position', async () => {
  const fx = await build();
  try {
    const last = fx.segs[3]!;
    const rec = fx.layout[3]![7]!; // position 67
    truncateSync(last, rec.offset + RECORD_HEADER_BYTES + 50);
    const rb = readBack(fx.dir);
    assert.deepEqual(rb.positions, range(0, 67));
    assert.deepEqual(rb.skipped, []);
    assert.deepEqual(rb.damage, [{ file: last, offset: rec.offset, bytes: RECORD_HEADER_BYTES + 50, reason: 'torn-tail' }]);
    assert.equal(statSync(last).size, rec.offset, 'cut after the last good record');
    assert.equal(rb.journal.stats().repairedBytes, RECORD_HEADER_BYTES + 50);
    assert.equal(rb.journal.nextPosition, 67);
    rb.journal.append(batchOf(67, 5));
    await rb.journal.close();
    const again = readBack(fx.dir);
    assert.deepEqual(again.positions, range(0, 72));
    assert.deepEqual(again.damage, []);
    await again.journal.close();
  } finally {
    fx.cleanup();
  }
});

test('torn tail of zeros or garbage after the last record is cut; nothing is lost', async () => {
  for (const junk of [Buffer.alloc(5000), Buffer.from('{"half a record', 'latin1'), Buffer.from([0xf7, 0x4a, 0x52])]) {
    const fx = await build();
    try {
      const last = fx.segs[3]!;
      const size = statSync(last).size;
      appendFileSync(last, junk);
      const rb = readBack(fx.dir);
      assert.deepEqual(rb.positions, range(0, TOTAL));
      assert.deepEqual(rb.damage, [{ file: last, offset: size, bytes: junk.length, reason: 'torn-tail' }]);
      assert.equal(statSync(last).size, size);
      await rb.journal.close();
    } finally {
      fx.cleanup();
    }
  }
});

test('damage in the middle of the last segment is skipped, not truncated: the records after it stay', async () => {
  const fx = await build();
  try {
    const last = fx.segs[3]!;
    const rec = fx.layout[3]![2]!; // position 62
    mutate(last, (b) => {
      b[rec.offset + RECORD_HEADER_BYTES + 10]! ^= 0x01;
    });
    const size = statSync(last).size;
    const rb = readBack(fx.dir);
    assert.deepEqual(rb.positions, without([62]));
    assert.equal(statSync(last).size, size, 'no repair cut');
    assert.deepEqual(
      rb.damage.map((d) => [d.offset, d.reason]),
      [[rec.offset, 'bad-payload']],
    );
    assert.equal(rb.journal.nextPosition, TOTAL);
    await rb.journal.close();
  } finally {
    fx.cleanup();
  }
});

test('several kinds of damage at once: every good record survives, each region is counted once', async () => {
  const fx = await build();
  try {
    mutate(fx.segs[0]!, (b) => {
      b[fx.layout[0]![0]!.offset + 40]! ^= 0x80; // position 0, payload
      b[fx.layout[0]![19]!.offset + RH.length]! ^= 0x01; // position 19, header
    });
    truncateSync(fx.segs[2]!, fx.layout[2]![15]!.offset + 3); // positions 55-59 cut
    const rb = readBack(fx.dir);
    assert.deepEqual(rb.positions, without([0, 19, 55, 56, 57, 58, 59]));
    assert.deepEqual(rb.skipped, [
      { from: 0, to: 1, reason: 'damaged' },
      { from: 19, to: 20, reason: 'damaged' },
      { from: 55, to: 60, reason: 'damaged' },
    ]);
    const regions = rb.journal.stats().damage.regions;
    // read it all again: the same damage is not counted twice
    const r = rb.journal.reader(0);
    for (const _ of r) void _;
    assert.equal(r.skippedDamaged, 7);
    r.close();
    assert.equal(rb.journal.stats().damage.regions, regions);
    await rb.journal.close();
    // a read-only reader (as the replay tool uses) skips the same damage
    const ro = readBack(fx.dir, true);
    assert.deepEqual(ro.positions, without([0, 19, 55, 56, 57, 58, 59]));
    await ro.journal.close();
  } finally {
    fx.cleanup();
  }
});
