// issue 13, cases 1-3 and the wrong-field-type finding: a capture handed to
// incident response is attacker input. A template key "__proto__.polluted"
// must not reach Object.prototype; a deflate bomb is refused before (or while)
// inflating, with memory bounded by the block limit; definition numbers that
// jump by a million cannot grow the reader's tables; a block header claiming
// 4 billion records cannot make it allocate for them; a field of the wrong
// type is ESENSOR_CAPTURE_FORMAT naming the field, and --skip-bad goes on.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { isSensorError } from '../../src/errors.js';
import type { SensorEvent } from '../../src/model/event.js';
import { encodeMember, parseMemberHeader, type MemberInfo } from '../../src/sources/replay/capture-format.js';
import { CaptureBlock } from '../../src/sources/replay/capture-block.js';
import { CaptureReader, type InputDamage } from '../../src/sources/replay/capture-reader.js';
import { rawEvents, replayToMemory, tempDir, writeCapture } from '../helpers/replay-fixtures.js';

const dir = tempDir('ebpf-sensor-issue13-capture-');
const RULES = join(dir, 'rules.yaml');
writeFileSync(RULES, '- rule: shadow\n  desc: shadow\n  condition: ebpf.kind = open and file.path startswith /etc\n  output: "%{process.pid} %{file.path}"\n  severity: high\n');
const rules = { bundled: false, paths: [RULES] };

/** A good capture, and its header member (to put hand-made blocks after). */
async function good(name: string, n = 50): Promise<{ file: string; header: Buffer }> {
  const file = await writeCapture(join(dir, name), rawEvents(7, n, 1));
  const bytes = readFileSync(file);
  const m = parseMemberHeader(bytes) as MemberInfo;
  return { file, header: bytes.subarray(0, m.memberBytes) };
}

function member(raw: Buffer, info: Omit<MemberInfo, 'memberBytes' | 'flags'>, deflated = deflateRawSync(raw), size = raw.length): Buffer {
  return encodeMember({ ...info, flags: 0 }, deflated, crc32(raw), size);
}

async function skipBad(files: string[]): Promise<{ damage: InputDamage[]; written: number; lines: string[] }> {
  const damage: InputDamage[] = [];
  const r = await replayToMemory(files, { rules, skipBad: true, onDamage: (d) => damage.push(d) });
  return { damage, written: r.summary.written, lines: r.lines };
}

describe('issue-13: hostile captures', () => {
  test('issue-13-proto-pollution: a template key "__proto__.polluted" does not reach Object.prototype; the next input replays whole', async () => {
    const { file: clean, header } = await good('clean.capture.gz');
    const text = ['["t",0,{"__proto__.polluted":1}]', '["s",0,0,["yes"]]', '["t",1,{"__proto__":{"polluted":1}}]', '["t",2,{"constructor":{"prototype":{"polluted":1}}}]', '[0,0,1,null,[1]]', ''].join('\n');
    const hostile = join(dir, 'proto.capture.gz');
    writeFileSync(hostile, Buffer.concat([header, member(Buffer.from(text), { block: 1, firstRecord: 0, records: 1, lines: 5 })]));
    try {
      const r = await skipBad([hostile, clean]);
      assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is untouched');
      assert.equal(r.written, 50, 'every event of the clean input is replayed');
      assert.ok(r.damage.length > 0 && r.damage.every((d) => isSensorError(d.error, 'ESENSOR_CAPTURE_FORMAT') && d.file === hostile), 'the hostile input is reported');
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
  });

  test('issue-13-proto-pollution: an encoding path "__proto__.x" in the header is refused', async () => {
    const { header } = await good('enc.capture.gz', 3);
    const m = parseMemberHeader(header) as MemberInfo;
    // The header is stored uncompressed: edit its JSON in place (same length).
    const text = header.subarray(44, m.memberBytes - 8).toString('latin1');
    const json = text.slice(text.indexOf('{'));
    const h = JSON.parse(json.slice(0, json.lastIndexOf('}') + 1)) as { encoding: { shape: string[] } };
    h.encoding.shape.push('__proto__.x');
    const raw = Buffer.from(`${JSON.stringify(h)}\n`);
    const file = join(dir, 'enc-bad.capture.gz');
    writeFileSync(file, encodeMember({ block: 0, firstRecord: 0, records: 0, lines: 1, flags: 1 }, deflateRawSync(raw), crc32(raw), raw.length));
    assert.throws(
      () => CaptureReader.open(file),
      (e: unknown) => isSensorError(e, 'ESENSOR_CAPTURE_FORMAT') && /__proto__\.x/.test(e.message) && e.file === file,
    );
  });

  test('issue-13-deflate-bomb: a block that inflates past its trailer stops at the trailer size; one claiming more than the block limit is not inflated', async () => {
    const { file: clean, header } = await good('bomb-base.capture.gz');
    const zeros = Buffer.alloc(32 << 20);
    const deflated = deflateRawSync(zeros, { level: 9 });
    assert.ok(deflated.length < 64 << 10, 'a small member');
    const lying = join(dir, 'bomb-lying.capture.gz');
    writeFileSync(lying, Buffer.concat([header, member(zeros, { block: 1, firstRecord: 0, records: 10, lines: 10 }, deflated, 100)]));
    const huge = join(dir, 'bomb-huge.capture.gz');
    writeFileSync(huge, Buffer.concat([header, member(zeros, { block: 1, firstRecord: 0, records: 10, lines: 10 }, deflated, 2 ** 32 - 1)]));
    const r = await skipBad([lying, huge, clean]);
    const msgs = r.damage.map((d) => d.error.message).join('\n');
    assert.match(msgs, /inflates to more than the 100 bytes its trailer says/);
    assert.match(msgs, /inflates to 4294967295 bytes, more than the 67108864 a block may hold/);
    assert.equal(r.written, 50);
    // A smaller limit, as a caller can set it.
    const rd = CaptureReader.open(clean, { maxBlockBytes: 4096, skipBad: false });
    try {
      assert.throws(() => rd.next(), (e: unknown) => isSensorError(e, 'ESENSOR_CAPTURE_FORMAT') && /more than the 4096 a block may hold/.test(e.message));
    } finally {
      rd.close();
    }
  });

  test('issue-13-id-gaps: definition numbers jumping by 999,999 cannot grow the tables past the lines of the block', () => {
    const lines = ['["t",0,{"process":{"pid":1}}]'];
    for (let k = 1; k <= 5; k++) lines.push(`["c",${k * 999_999},0,[${k}]]`, `["t",${k * 999_999},{"a":1}]`, `["s",${k * 999_999},0,[1]]`);
    const buf = Buffer.from(`${lines.join('\n')}\n`);
    const b = new CaptureBlock('gaps.capture.gz', 1, 0, buf, 0);
    assert.ok(b.contextCount <= lines.length, `${b.contextCount} contexts for ${lines.length} lines`);
    assert.ok(b.shapeCount <= lines.length, `${b.shapeCount} shapes for ${lines.length} lines`);
  });

  test('issue-13-id-gaps: a block header claiming 4 billion records does not allocate for them', () => {
    const buf = Buffer.from('["t",0,{"a":1}]\n');
    const b = new CaptureBlock('count.capture.gz', 1, 0, buf, 2 ** 32 - 1);
    assert.equal(b.count, 0);
    assert.ok(b.ctxOf.length < 1024, `${b.ctxOf.length} slots`);
  });

  test('issue-13-field-types: fields of the wrong type are ESENSOR_CAPTURE_FORMAT naming the field; --skip-bad replays the rest', async () => {
    const evs: SensorEvent[] = rawEvents(9, 60, 1);
    const broken = new Set<number>();
    evs.forEach((ev, i) => {
      if (i % 10 !== 3) return;
      broken.add(i);
      const e = ev as unknown as Record<string, Record<string, unknown>>;
      if (i % 20 === 3) e.process!.executable = 123;
      else e.process!.args = 'not an array';
    });
    const file = await writeCapture(join(dir, 'types.capture.gz'), evs);
    await assert.rejects(replayToMemory([file], { rules }), (e: unknown) => {
      assert.ok(isSensorError(e, 'ESENSOR_CAPTURE_FORMAT'), String(e));
      assert.equal(e.file, file);
      assert.match(e.message, /field process\.(executable|args) must be/);
      return true;
    });
    for (const events of ['all', 'alerts'] as const) {
      const damage: InputDamage[] = [];
      const r = await replayToMemory([file], { rules, events, skipBad: true, onDamage: (d) => damage.push(d) });
      // With alerts only, events no rule can match are never built, so they cannot be found bad.
      assert.ok(damage.every((d) => isSensorError(d.error, 'ESENSOR_CAPTURE_FORMAT')), damage.map((d) => String(d.error)).join('\n'));
      if (events === 'all') {
        assert.equal(damage.length, broken.size, 'each bad record is reported');
        assert.equal(r.summary.written, 60 - broken.size, 'every good event is written');
      }
    }
  });
});
