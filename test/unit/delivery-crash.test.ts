import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { Journal } from '../../src/journal/journal.js';
import { Delivery } from '../../src/sinks/delivery.js';
import { MemorySink, indexOf, readLines, tempDir } from '../helpers/journal-fixtures.js';

const journalUrl = new URL('../../src/journal/journal.js', import.meta.url).href;
const deliveryUrl = new URL('../../src/sinks/delivery.js', import.meta.url).href;
const fixturesUrl = new URL('../helpers/journal-fixtures.js', import.meta.url).href;

const BATCH = 25;
const TOTAL = 3000;

/**
 * A sensor in a child process: appends TOTAL events over time and delivers
 * them to a sink that writes each batch to a file synchronously, then takes
 * a few ms to "acknowledge" (so a kill often lands between the write and the
 * cursor commit).
 */
const CHILD = `
import { appendFileSync } from 'node:fs';
import { Journal } from ${JSON.stringify(journalUrl)};
import { Delivery } from ${JSON.stringify(deliveryUrl)};
import { batchOf } from ${JSON.stringify(fixturesUrl)};
const j = Journal.open(process.env.JDIR, { fsyncIntervalMs: 20, segmentBytes: 256 << 10 });
const sink = {
  name: 'siem',
  async send(batch) {
    appendFileSync(process.env.OUT, batch.map((ce) => ce.event.event.id.slice(3) + '\\n').join(''));
    await new Promise((r) => setTimeout(r, 3));
  },
  async flush() {},
  async close() {},
};
Delivery.start(j, sink, { batch: { count: ${BATCH}, bytes: 1 << 20, ms: 5 } });
let next = j.nextPosition;
const timer = setInterval(() => {
  if (next >= ${TOTAL}) return clearInterval(timer);
  j.append(batchOf(next, 40));
  next += 40;
}, 2);
`;

test('a sensor SIGKILLed mid-delivery resumes every sink from its cursor: at least once, duplicates only from the unconfirmed batch', async () => {
  const { dir, cleanup } = tempDir('delivery-crash-');
  try {
    const jdir = join(dir, 'journal');
    const out = join(dir, 'delivered.txt');
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      env: { ...process.env, JDIR: jdir, OUT: out, EBPF_SENSOR_LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_c, sig) => res(sig)));
    const deadline = Date.now() + 60_000;
    while (readLines(out).length < 1000 && Date.now() < deadline) await sleep(2);
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');

    const first = readLines(out).map(Number);
    assert.ok(first.length >= 1000, `the child delivered ${first.length} events before the kill`);
    assert.deepEqual(
      first,
      first.map((_, i) => i),
      'first run: in order, no gaps, no duplicates',
    );

    const j = Journal.open(jdir, { fsyncIntervalMs: 0, segmentBytes: 256 << 10 });
    const committed = j.cursor('siem')!;
    assert.ok(committed !== undefined && committed <= first.length, `cursor ${committed} <= ${first.length} delivered`);
    assert.ok(first.length - committed <= BATCH, `at most one batch was unconfirmed (${first.length - committed})`);
    const end = j.nextPosition;
    assert.ok(end >= first.length, 'every delivered event is still in the journal');

    const sink = new MemorySink('siem');
    const d = Delivery.start(j, sink, { batch: { count: BATCH, bytes: 1 << 20, ms: 0 } });
    assert.equal(await d.drained(30_000), true);
    const second = sink.events.map(indexOf);
    assert.deepEqual(
      second,
      second.map((_, i) => committed + i),
      'resumed exactly at the committed cursor, in order',
    );
    assert.equal(second[second.length - 1], end - 1, 'up to the journal end');
    const dupes = second.filter((p) => p < first.length);
    assert.deepEqual(
      dupes,
      first.slice(committed),
      'the only duplicates are the unconfirmed batch',
    );
    const union = new Set([...first, ...second]);
    assert.equal(union.size, end, 'nothing lost');
    assert.deepEqual(d.stats().lost, { retention: 0, damaged: 0 });
    await d.stop();
    await j.close();
  } finally {
    cleanup();
  }
});
