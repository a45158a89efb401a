// Issue #14 (hot path): the journal's CRC-32 computed by the addon (native/src/crc32.c,
// PCLMULQDQ folding where the CPU has it) instead of zlib.crc32, through
// src/journal/crc32.ts. The journal format must not change: every implementation
// (native folding, the addon's zlib path, node's zlib.crc32 without the addon) gives
// zlib.crc32's value for every length, alignment and continuation, and a journal
// written by one reads back in another.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32Impl, crc32Range } from '../../src/journal/crc32.js';
import { RECORD_HEADER_BYTES, RECORD_MAGIC_U32, RH, SEGMENT_HEADER_BYTES, SH } from '../../src/journal/format.js';
import { loadBinding } from '../../src/sources/kernel/binding.js';
import { tempDir } from '../helpers/journal-fixtures.js';

type RangeCrc = (buf: Buffer, start: number, end: number, previous?: number) => number;
const native = loadBinding() as unknown as { crc32: RangeCrc; crc32Portable: RangeCrc; crc32Impl: string };
const cpuHasPclmul = /^flags\s*:.*\bpclmulqdq\b.*\bsse4_1\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));

// Every implementation this process can reach, by name.
const IMPLS: [string, RangeCrc][] = [
  ['crc32Range', crc32Range],
  ['addon crc32', (b, s, e, p = 0) => native.crc32(b, s, e, p)],
  ['addon crc32Portable', (b, s, e, p = 0) => native.crc32Portable(b, s, e, p)],
];

test('issue-14-native-crc32: the addon chooses the folding path on a CPU with PCLMULQDQ and SSE4.1, and the journal uses it', () => {
  if (process.arch === 'x64' && cpuHasPclmul) {
    assert.equal(native.crc32Impl, 'pclmul');
    assert.equal(crc32Impl, process.env.EBPF_SENSOR_CRC32 ? crc32Impl : 'pclmul');
  } else {
    assert.equal(native.crc32Impl, 'zlib');
  }
});

test('issue-14-native-crc32: equals zlib.crc32 for every length 0..1024 at every start offset 0..15', () => {
  const buf = randomBytes(1024 + 16 + 7);
  for (const [name, fn] of IMPLS) {
    for (let off = 0; off < 16; off++) {
      for (let len = 0; len <= 1024; len++) {
        const want = zlibCrc32(buf.subarray(off, off + len));
        const got = fn(buf, off, off + len);
        if (got !== want) assert.fail(`${name}: length ${len} at offset ${off}: ${got.toString(16)} != ${want.toString(16)}`);
      }
    }
  }
});

test('issue-14-native-crc32: equals zlib.crc32 on 1 MiB and 16 MiB buffers, whole and at odd ranges', () => {
  for (const size of [1 << 20, 16 << 20]) {
    const buf = randomBytes(size + 3);
    for (const [start, end] of [[0, size], [3, size + 3], [1, size - 77]] as const) {
      const want = zlibCrc32(buf.subarray(start, end));
      for (const [name, fn] of IMPLS) assert.equal(fn(buf, start, end), want, `${name} ${size} [${start}, ${end})`);
    }
  }
});

test('issue-14-native-crc32: the continuation form (previous CRC) equals zlib.crc32(data, previous)', () => {
  const buf = randomBytes(20000);
  for (const [name, fn] of IMPLS) {
    // split anywhere, pieces short and long: the CRC of the whole
    for (const cut of [0, 1, 15, 16, 47, 48, 63, 64, 65, 1000, 5531, 19999, 20000]) {
      assert.equal(fn(buf, cut, buf.length, fn(buf, 0, cut)), zlibCrc32(buf), `${name} cut at ${cut}`);
    }
    // any previous value, high bit set included
    for (const prev of [1, 0x7fffffff, 0x80000000, 0xdeadbeef, 0xffffffff]) {
      for (const len of [0, 5, 28, 64, 100, 5500]) {
        assert.equal(fn(buf, 7, 7 + len, prev), zlibCrc32(buf.subarray(7, 7 + len), prev), `${name} prev ${prev} length ${len}`);
      }
    }
  }
});

test('issue-14-native-crc32: the addon refuses a range outside the buffer', () => {
  const buf = Buffer.alloc(100);
  for (const fn of [native.crc32, native.crc32Portable]) {
    assert.throws(() => fn(buf, 0, 101), /crc32 needs/);
    assert.throws(() => fn(buf, 60, 50), /crc32 needs/);
    assert.throws(() => fn('x' as unknown as Buffer, 0, 0), /crc32 needs/);
  }
});

const here = fileURLToPath(new URL('.', import.meta.url));
const CHILD = `
const [mode, dir, digestOf] = process.argv.slice(1); // node -e: no script path in argv
const { crc32Impl, crc32Range } = await import(${JSON.stringify(join(here, '../../src/journal/crc32.js'))});
const { Journal } = await import(${JSON.stringify(join(here, '../../src/journal/journal.js'))});
const { batchOf, classified } = await import(${JSON.stringify(join(here, '../helpers/journal-fixtures.js'))});
const { readFileSync } = await import('node:fs');
const out = { impl: crc32Impl };
if (mode === 'digest') {
  const buf = readFileSync(digestOf);
  const crcs = [];
  for (let len = 0; len <= 1024; len += 1) crcs.push(crc32Range(buf, len % 16, len % 16 + len));
  crcs.push(crc32Range(buf, 0, buf.length), crc32Range(buf, 100, buf.length, 0xdeadbeef));
  out.crcs = crcs;
} else if (mode === 'write') {
  const j = Journal.open(dir, { fsyncIntervalMs: 0, segmentBytes: 64 << 10 });
  let next = 0;
  for (let b = 0; b < 20; b++) {
    const batch = b % 2 ? batchOf(next, 1 + (b % 5)) : [classified(next, '/big/' + 'x'.repeat(5000 + b))];
    next = j.append(batch).next;
  }
  await j.close();
  out.next = next;
} else {
  const j = Journal.open(dir, { readOnly: true });
  const r = j.reader(0);
  out.ids = [];
  for (const rec of r) out.ids.push(rec.event.event.event.id);
  r.close();
  await j.close();
}
process.stdout.write(JSON.stringify(out));
`;

function child(env: string, ...args: string[]): { impl: string; crcs?: number[]; ids?: string[]; next?: number } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, '--', ...args], {
    encoding: 'utf8',
    env: { ...process.env, EBPF_SENSOR_CRC32: env },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { impl: string; crcs?: number[] };
}

test('issue-14-native-crc32: EBPF_SENSOR_CRC32 forces the fallbacks (zlib.crc32 without the addon, the addon without SIMD), same values', () => {
  const { dir, cleanup } = tempDir('crc32-');
  try {
    const file = join(dir, 'data');
    writeFileSync(file, randomBytes(1 << 20));
    const runs = { auto: child('auto', 'digest', dir, file), portable: child('portable', 'digest', dir, file), zlib: child('zlib', 'digest', dir, file) };
    assert.equal(runs.zlib.impl, 'zlib');
    assert.equal(runs.portable.impl, 'native-zlib');
    assert.equal(runs.auto.impl, native.crc32Impl === 'pclmul' ? 'pclmul' : 'native-zlib');
    assert.deepEqual(runs.auto.crcs, runs.zlib.crcs);
    assert.deepEqual(runs.portable.crcs, runs.zlib.crcs);
    const buf = readFileSync(file);
    assert.equal(runs.zlib.crcs!.at(-2), zlibCrc32(buf));
  } finally {
    cleanup();
  }
});

/** Every record of every segment in `dir`, its stored CRCs checked against zlib.crc32 (what any older build computes). */
function checkWithZlib(dir: string): number {
  let records = 0;
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.seg')).sort()) {
    const seg = readFileSync(join(dir, name));
    assert.equal(seg.readUInt32LE(SH.crc), zlibCrc32(seg.subarray(0, SH.crc)), `${name} header`);
    for (let off = SEGMENT_HEADER_BYTES; off < seg.length; ) {
      assert.equal(seg.readUInt32LE(off + RH.magic), RECORD_MAGIC_U32, `${name}@${off}: a record`);
      const len = seg.readUInt32LE(off + RH.length);
      const start = off + RECORD_HEADER_BYTES;
      assert.equal(seg.readUInt32LE(off + RH.headerCrc), zlibCrc32(seg.subarray(off, off + RH.headerCrc)), `${name}@${off} header CRC`);
      assert.equal(seg.readUInt32LE(off + RH.payloadCrc), zlibCrc32(seg.subarray(start, start + len)), `${name}@${off} payload CRC`);
      off = start + len;
      records++;
    }
  }
  return records;
}

test('issue-14-native-crc32: a journal written with zlib.crc32 reads back with the native CRC, and the other way round', () => {
  for (const [writer, reader] of [['zlib', 'auto'], ['auto', 'zlib'], ['portable', 'auto']] as const) {
    const { dir, cleanup } = tempDir('crc32-journal-');
    try {
      const w = child(writer, 'write', dir);
      assert.ok(w.next! > 20);
      assert.equal(checkWithZlib(dir), w.next, `${writer}: every record's CRCs are zlib's`);
      const r = child(reader, 'read', dir);
      assert.equal(r.impl, reader === 'zlib' ? 'zlib' : native.crc32Impl === 'pclmul' ? 'pclmul' : 'native-zlib');
      assert.deepEqual(r.ids, [...Array(w.next).keys()].map((i) => `ev-${i}`), `written with ${writer}, read with ${reader}`);
    } finally {
      cleanup();
    }
  }
});
