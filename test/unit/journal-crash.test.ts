import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { appendFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES } from '../../src/journal/format.js';
import { Journal, type JournalDamage } from '../../src/journal/journal.js';
import { batchOf, indexOf, tempDir } from '../helpers/journal-fixtures.js';

const journalUrl = new URL('../../src/journal/journal.js', import.meta.url).href;
const fixturesUrl = new URL('../helpers/journal-fixtures.js', import.meta.url).href;

/**
 * A child that appends as fast as it can and prints every durable position it
 * is told about (stdout to a pipe is synchronous on Linux: a printed position
 * was durable before the line left the child).
 */
const CHILD = `
import { Journal } from ${JSON.stringify(journalUrl)};
import { batchOf } from ${JSON.stringify(fixturesUrl)};
const j = Journal.open(process.env.JDIR, { fsyncIntervalMs: Number(process.env.JFSYNC), segmentBytes: 1 << 20, maxBytes: 1 << 30 });
let next = j.nextPosition;
let told = -1;
process.stdout.write('start ' + next + '\\n');
function tick() {
  for (let k = 0; k < 4; k++) {
    j.append(batchOf(next, 50));
    next += 50;
  }
  if (j.durablePosition !== told) {
    told = j.durablePosition;
    process.stdout.write('durable ' + told + '\\n');
  }
  setImmediate(tick);
}
tick();
`;

/** Run the child until it reports `until` more durable records than it started with, then SIGKILL it. */
async function appendAndKill(dir: string, fsyncMs: number, more: number): Promise<{ start: number; durable: number }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: { ...process.env, JDIR: dir, JFSYNC: String(fsyncMs), EBPF_SENSOR_LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, sig) => res(sig)));
  let start = -1;
  let durable = -1;
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  for await (const line of createInterface({ input: child.stdout! })) {
    const [what, n] = line.split(' ');
    if (what === 'start') start = Number(n);
    if (what === 'durable') durable = Number(n);
    if (start >= 0 && durable - start >= more) {
      child.kill('SIGKILL');
      break;
    }
  }
  clearTimeout(timer);
  assert.equal(await exited, 'SIGKILL');
  return { start, durable };
}

for (const fsyncMs of [100, 0]) {
  test(`SIGKILL while appending (fsync ${fsyncMs === 0 ? 'per batch' : `every ${fsyncMs} ms`}): every durable record survives, the tail is repaired, appends continue`, async () => {
    const { dir, cleanup } = tempDir('crash-');
    try {
      let durableSeen = 0;
      for (let round = 0; round < 2; round++) {
        const { start, durable } = await appendAndKill(dir, fsyncMs, 3000);
        assert.ok(start >= durableSeen, `round ${round} resumed at ${start}, after the ${durableSeen} durable records`);
        durableSeen = durable;
      }
      // The kill may itself have torn the last write (killed between or inside write calls): the
      // next open repairs that, and finds nothing else.
      const afterKill: JournalDamage[] = [];
      const j0 = Journal.open(dir, { fsyncIntervalMs: 0, segmentBytes: 1 << 20, onDamage: (d) => afterKill.push(d) });
      assert.ok(
        afterKill.every((d) => d.reason === 'torn-tail'),
        JSON.stringify(afterKill),
      );
      assert.ok(j0.nextPosition >= durableSeen, `next ${j0.nextPosition} >= last durable ${durableSeen}`);
      await j0.close();
      // A power cut tears writes for sure. Add the first half of a record (its header and some
      // payload, as a torn write leaves it) to the end of the newest segment.
      const segs = readdirSync(dir)
        .filter((f) => f.endsWith('.seg'))
        .sort()
        .map((f) => join(dir, f));
      const last = segs[segs.length - 1]!;
      const size = statSync(last).size;
      const donor = readFileSync(segs[0]!); // the newest segment may be empty; the first one is not
      appendFileSync(last, donor.subarray(SEGMENT_HEADER_BYTES, SEGMENT_HEADER_BYTES + RECORD_HEADER_BYTES + 100));
      const damage: JournalDamage[] = [];
      const j = Journal.open(dir, { fsyncIntervalMs: 0, segmentBytes: 1 << 20, onDamage: (d) => damage.push(d) });
      assert.ok(j.nextPosition >= durableSeen, `next ${j.nextPosition} >= last durable ${durableSeen}`);
      // only the torn tail was found, and it was cut
      assert.ok(
        damage.every((d) => d.reason === 'torn-tail'),
        JSON.stringify(damage),
      );
      assert.ok(damage.some((d) => d.file === last && d.offset === size));
      assert.equal(statSync(last).size, size, 'the torn record was cut off');
      const r = j.reader(0);
      let expect = 0;
      for (const rec of r) {
        assert.equal(rec.position, expect);
        assert.equal(indexOf(rec.event), rec.position);
        expect++;
      }
      assert.equal(r.skippedDamaged + r.skippedRetention, 0);
      assert.equal(expect, j.nextPosition, 'every position up to the end is readable');
      r.close();
      const next = j.nextPosition;
      assert.deepEqual(j.append(batchOf(next, 3)), { first: next, next: next + 3 });
      assert.deepEqual(
        j
          .reader(next)
          .read()
          .records.map((x) => indexOf(x.event)),
        [next, next + 1, next + 2],
      );
      await j.close();
    } finally {
      cleanup();
    }
  });
}
