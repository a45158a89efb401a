// Bad captures: wrong version, not a capture, cut short (inside a block and at
// a block boundary), a corrupt line, damaged compressed data, a damaged block
// header. Each gives a clear error naming the file and the record; with
// --skip-bad the rest is replayed and the damage counted; nothing crashes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateRawSync, gzipSync, inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { isSensorError, SensorError } from '../../src/errors.js';
import { encodeMember, parseMemberHeader, storedDeflate, type MemberInfo } from '../../src/sources/replay/capture-format.js';
import type { InputDamage } from '../../src/sources/replay/capture-reader.js';
import { rawEvents, replayToMemory, tempDir, writeCapture } from '../helpers/replay-fixtures.js';

const dir = tempDir('ebpf-sensor-capture-damage-');
/** A small ruleset: the fuzz loop compiles it many times. */
const RULES = join(dir, 'rules.yaml');
writeFileSync(RULES, '- rule: shadow\n  desc: shadow\n  condition: ebpf.kind = open and file.path = /etc/shadow\n  output: "%{process.pid}"\n  severity: high\n');
const rules = { bundled: false, paths: [RULES] };

/** A capture of 400 events in several blocks, and where each gzip member starts. */
async function sample(name: string): Promise<{ file: string; bytes: Buffer; members: Array<MemberInfo & { at: number }>; total: number }> {
  const file = await writeCapture(join(dir, name), rawEvents(11, 400, 1), { blockBytes: 12_000 });
  const bytes = readFileSync(file);
  const members: Array<MemberInfo & { at: number }> = [];
  for (let at = 0; at < bytes.length; ) {
    const m = parseMemberHeader(bytes.subarray(at, at + 44));
    assert.ok(typeof m !== 'string', m as string);
    members.push({ ...m, at });
    at += m.memberBytes;
  }
  assert.ok(members.length >= 5, `${members.length} members`);
  return { file, bytes, members, total: 400 };
}

async function rejects(file: string, pattern: RegExp): Promise<SensorError> {
  try {
    await replayToMemory([file], { rules });
  } catch (e) {
    assert.ok(isSensorError(e, 'ESENSOR_CAPTURE_FORMAT'), `expected ESENSOR_CAPTURE_FORMAT, got ${String(e)}`);
    assert.equal(e.file, file, 'the error names the file');
    assert.match(e.message, pattern);
    return e;
  }
  assert.fail(`replay of ${file} did not fail`);
}

async function skipBad(file: string): Promise<{ records: number; damage: InputDamage[]; written: number; damaged: number }> {
  const damage: InputDamage[] = [];
  const r = await replayToMemory([file], { rules, skipBad: true, onDamage: (d) => damage.push(d) });
  return { records: r.summary.records, damage, written: r.summary.written, damaged: r.summary.damaged };
}

/** Rebuild the header member with `edit` applied to its JSON. */
function withHeader(bytes: Buffer, edit: (h: Record<string, unknown>) => void): Buffer {
  const m = parseMemberHeader(bytes) as MemberInfo;
  const h = JSON.parse(inflateMember(bytes.subarray(0, m.memberBytes))) as Record<string, unknown>;
  edit(h);
  const json = Buffer.from(`${JSON.stringify(h)}\n`);
  const member = encodeMember({ block: 0, firstRecord: 0, records: 0, lines: 1, flags: 1 }, storedDeflate(json), crc32(json), json.length);
  return Buffer.concat([member, bytes.subarray(m.memberBytes)]);
}

/** A block member made from raw text (lines we write by hand). */
function block(text: string, info: Omit<MemberInfo, 'memberBytes' | 'flags'>): Buffer {
  const raw = Buffer.from(text);
  return encodeMember({ ...info, flags: 0 }, deflateRawSync(raw), crc32(raw), raw.length);
}

describe('damaged captures', () => {
  test('wrong format version: refused, naming the file and both versions', async () => {
    const { bytes } = await sample('v.capture.gz');
    const file = join(dir, 'v2.capture.gz');
    writeFileSync(file, withHeader(bytes, (h) => (h.version = 2)));
    await rejects(file, /header: capture format version 2 is not supported \(this sensor reads version 1\)/);
  });

  test('not a capture: random bytes, plain gzip, empty file, a missing file', async () => {
    const rnd = join(dir, 'random.bin');
    writeFileSync(rnd, Buffer.from('this is not a capture at all\n'));
    await rejects(rnd, /not a capture file \(not gzip\)/);
    const gz = join(dir, 'plain.gz');
    writeFileSync(gz, gzipSync('{"a":1}\n'));
    await rejects(gz, /not a capture file: the gzip member has no "ES" block information/);
    const empty = join(dir, 'empty.capture.gz');
    writeFileSync(empty, '');
    await rejects(empty, /not a capture file/);
    await assert.rejects(replayToMemory([join(dir, 'nope.capture.gz')], { rules }), (e: unknown) => isSensorError(e, 'ESENSOR_CAPTURE_FORMAT') && /cannot read/.test(e.message));
  });

  test('a header that is not valid: schema errors name the field', async () => {
    const { bytes } = await sample('h.capture.gz');
    const file = join(dir, 'badhost.capture.gz');
    writeFileSync(file, withHeader(bytes, (h) => ((h.host as Record<string, unknown>).ip = 'not-a-list')));
    await rejects(file, /header: the header is invalid: \/host\/ip must be array/);
  });

  test('gzip cut short inside a block: error names its records; --skip-bad replays the blocks before it', async () => {
    const { bytes, members } = await sample('cut.capture.gz');
    const m = members[3]!;
    const file = join(dir, 'cut-mid.capture.gz');
    writeFileSync(file, bytes.subarray(0, m.at + Math.floor(m.memberBytes / 2)));
    const from = m.firstRecord + 1;
    const to = m.firstRecord + m.records;
    await rejects(file, new RegExp(`^records ${from}–${to}: the file is cut short inside the block of records ${from}–${to}`));
    const r = await skipBad(file);
    assert.equal(r.records, m.firstRecord, 'every record before the cut is replayed');
    assert.equal(r.damage.length, 2, 'the cut block, then the records the header promised');
    assert.deepEqual(r.damage[0]!.records, { from, to });
    assert.equal(r.damaged, 400 - m.firstRecord);
  });

  test('cut short at a block boundary: the header count gives it away', async () => {
    const { bytes, members, total } = await sample('cutb.capture.gz');
    const m = members[members.length - 1]!;
    const file = join(dir, 'cut-boundary.capture.gz');
    writeFileSync(file, bytes.subarray(0, m.at));
    // The last block may hold a single record (block sizes follow the events' sizes).
    const range = m.firstRecord + 1 === total ? `record ${total}` : `records ${m.firstRecord + 1}–${total}`;
    await rejects(file, new RegExp(`^${range}: missing: the file ends after record ${m.firstRecord} but its header says it holds ${total} \\(cut short\\?\\)`));
    const r = await skipBad(file);
    assert.equal(r.records, m.firstRecord);
    assert.equal(r.damaged, total - m.firstRecord);
  });

  test('damaged compressed data: the block is named; --skip-bad goes on with the next block', async () => {
    const { bytes, members, total } = await sample('flip.capture.gz');
    const m = members[2]!;
    const bad = Buffer.from(bytes);
    bad[m.at + 44 + Math.floor((m.memberBytes - 52) / 2)] ^= 0x55;
    const file = join(dir, 'flip.capture.gz');
    writeFileSync(file, bad);
    await rejects(file, new RegExp(`^records ${m.firstRecord + 1}–${m.firstRecord + m.records}: (compressed data is damaged|CRC-32 mismatch|inflates to)`));
    const r = await skipBad(file);
    assert.equal(r.records, total - m.records, 'only the damaged block is lost');
    assert.equal(r.damaged, m.records);
    assert.deepEqual(r.damage[0]!.records, { from: m.firstRecord + 1, to: m.firstRecord + m.records });
  });

  test('a damaged block header: --skip-bad finds the next block', async () => {
    const { bytes, members, total } = await sample('hdr.capture.gz');
    const m = members[2]!;
    const bad = Buffer.from(bytes);
    bad.fill(0x41, m.at, m.at + 20);
    const file = join(dir, 'badheader.capture.gz');
    writeFileSync(file, bad);
    await rejects(file, new RegExp(`^after record ${m.firstRecord} \\(byte ${m.at}\\): damaged block header`));
    const r = await skipBad(file);
    assert.equal(r.records, total - m.records, 'the blocks after it are read');
    assert.ok(r.damage.some((d) => d.records?.from === m.firstRecord + 1 && d.records.to === m.firstRecord + m.records), JSON.stringify(r.damage.map((d) => d.records)));
  });

  test('a corrupt line: error names the record; --skip-bad loses that record only', async () => {
    const { bytes, members } = await sample('line.capture.gz');
    const first = members[1]!;
    // The first block's own text, with its third event line broken.
    const lines = inflateMember(bytes.subarray(first.at, first.at + first.memberBytes)).split('\n');
    let events = 0;
    const broken = lines.map((l) => {
      if (!l.startsWith('[') || l.startsWith('["')) return l;
      events++;
      return events === 3 ? l.slice(0, l.length - 9) : l; // cut inside the values
    });
    const member = block(broken.join('\n'), { block: first.block, firstRecord: first.firstRecord, records: first.records, lines: first.lines });
    const file = join(dir, 'corrupt-line.capture.gz');
    writeFileSync(file, Buffer.concat([bytes.subarray(0, first.at), member, bytes.subarray(first.at + first.memberBytes)]));
    await rejects(file, /^record 3: (the event values are not an array|not a record line)/);
    const r = await skipBad(file);
    assert.equal(r.damaged, 1);
    assert.deepEqual(r.damage[0]!.records, { from: 3, to: 3 });
    assert.equal(r.records, 400, 'every record is read; one is bad');
  });

  test('a broken definition: the records that use it say so', async () => {
    const { bytes, members } = await sample('def.capture.gz');
    const first = members[1]!;
    const lines = inflateMember(bytes.subarray(first.at, first.at + first.memberBytes)).split('\n');
    const i = lines.findIndex((l) => l.startsWith('["c",0,'));
    lines[i] = `${lines[i]!.slice(0, 40)}]`;
    const member = block(lines.join('\n'), { block: first.block, firstRecord: first.firstRecord, records: first.records, lines: first.lines });
    const file = join(dir, 'broken-def.capture.gz');
    writeFileSync(file, Buffer.concat([bytes.subarray(0, first.at), member, bytes.subarray(first.at + first.memberBytes)]));
    await rejects(file, /^record 1: refers to context 0, whose definition is damaged/);
    const r = await skipBad(file);
    assert.ok(r.damaged >= 1);
    assert.ok(r.damage.every((d) => /context 0, whose definition is damaged/.test(d.error.message)));
    assert.equal(r.records, 400);
  });

  test('fuzz: any corruption or truncation ends in replayed records or a capture error, never a crash', async () => {
    const { bytes } = await sample('fuzz.capture.gz');
    const file = join(dir, 'fuzz.capture.gz');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.nat(bytes.length - 1), xor: fc.integer({ min: 1, max: 255 }) }), { maxLength: 6 }),
        fc.option(fc.nat(bytes.length), { nil: undefined }),
        fc.boolean(),
        async (flips, cut, skip) => {
          const b = Buffer.from(bytes.subarray(0, cut ?? bytes.length));
          for (const f of flips) if (f.at < b.length) b[f.at] ^= f.xor;
          writeFileSync(file, b);
          try {
            const r = await replayToMemory([file], { rules, skipBad: skip, events: 'alerts' });
            assert.ok(r.summary.records <= 400 + 10);
          } catch (e) {
            assert.ok(isSensorError(e, 'ESENSOR_CAPTURE_FORMAT'), `not a capture error: ${e instanceof Error ? e.stack : String(e)}`);
            assert.equal(e.file, file);
          }
        },
      ),
      { numRuns: 120 },
    );
  });
});

/** The text of one block member. */
function inflateMember(member: Buffer): string {
  const m = parseMemberHeader(member) as MemberInfo;
  return inflateRawSync(member.subarray(44, m.memberBytes - 8)).toString('utf8');
}
