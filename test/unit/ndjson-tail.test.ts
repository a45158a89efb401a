// issue-12: the test helpers that read NDJSON written by another process (the
// live sensor's output file, rsyslog's) parse only complete lines and follow
// a rotation; a partial line is kept until its newline arrives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NdjsonTail } from '../helpers/ndjson-tail.js';

function tmpFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'ndjson-tail-')), 'out.ndjson');
}

test('issue-12: a line the writer has not finished is not parsed until its newline arrives', () => {
  const f = tmpFile();
  const t = new NdjsonTail<{ n: number; s?: string }>(f);
  assert.deepEqual(t.read(), [], 'no file yet');
  writeFileSync(f, '{"n":1}\n{"n":2,"s":"t');
  assert.deepEqual(t.read(), [{ n: 1 }]);
  appendFileSync(f, 'rue"');
  assert.deepEqual(t.read(), [], 'still no newline');
  appendFileSync(f, '}\n{"n":3}\n');
  assert.deepEqual(t.read(), [{ n: 2, s: 'true' }, { n: 3 }]);
  assert.deepEqual(t.docs.map((d) => d.n), [1, 2, 3]);
});

test('issue-12: a multi-byte character split across two writes is decoded whole', () => {
  const f = tmpFile();
  const t = new NdjsonTail<{ s: string }>(f);
  const line = Buffer.from('{"s":"é€"}\n');
  writeFileSync(f, line.subarray(0, 8));
  assert.deepEqual(t.read(), []);
  appendFileSync(f, line.subarray(8));
  assert.deepEqual(t.read(), [{ s: 'é€' }]);
});

test('issue-12: a rotated file (FILE -> FILE.1, a new FILE) is read to its end, then the new one from its start', () => {
  const f = tmpFile();
  const t = new NdjsonTail<{ n: number }>(f);
  writeFileSync(f, '{"n":1}\n');
  assert.deepEqual(t.read(), [{ n: 1 }]);
  appendFileSync(f, '{"n":2}\n');
  renameSync(f, `${f}.1`);
  // The new file is longer than what was read of the old one: an offset carried over would land mid-line.
  writeFileSync(f, '{"n":3,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxx"}\n{"n":4}\n');
  assert.deepEqual(
    t.read().map((d) => d.n),
    [2, 3, 4],
  );
});

test('issue-12: a complete line that is not JSON is an error, not skipped', () => {
  const f = tmpFile();
  const t = new NdjsonTail(f);
  writeFileSync(f, '{"n":1}\nnot json\n');
  assert.throws(() => t.read(), /not JSON, first: not json/);
  assert.deepEqual(t.docs, [{ n: 1 }]);
});

test('issue-12: a read after close() goes on where it stopped: no document twice', () => {
  const f = tmpFile();
  const t = new NdjsonTail<{ n: number }>(f);
  writeFileSync(f, '{"n":1}\n{"n":2}\n');
  assert.equal(t.read().length, 2);
  t.close();
  appendFileSync(f, '{"n":3}\n');
  assert.deepEqual(t.read(), [{ n: 3 }]);
  t.close();
  assert.deepEqual(t.read(), []);
  assert.deepEqual(
    t.docs.map((d) => d.n),
    [1, 2, 3],
  );
});
