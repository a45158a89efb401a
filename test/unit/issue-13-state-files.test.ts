// issue 13: the state files the sensor reads back — cursor files and the
// journal's LOCK — are read like its segments: never through a symlink
// (O_NOFOLLOW), checked through the open fd (a regular file, small, and for
// the writer owned by the sensor's user and not writable by others). A
// planted link's target is neither read into a log line nor used as a
// position.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSensorError } from '../../src/errors.js';
import { CursorStore, cursorFileName } from '../../src/journal/cursor-store.js';
import { Journal } from '../../src/journal/journal.js';
import { classified } from '../helpers/journal-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'ebpf-sensor-issue13-state-'));
const SECRET = 'root:$6$precious:19000:0:99999:7:::';
const SINK = 'file:/var/log/out.ndjson';
let n = 0;

/** A journal directory with one committed cursor for SINK; returns the directory and the cursor file. */
async function journalWithCursor(): Promise<{ dir: string; cursor: string }> {
  const dir = join(root, `j${n++}`);
  const j = Journal.open(dir, { fsyncIntervalMs: 0 });
  j.append([classified(1), classified(2)]);
  await j.commitCursor(SINK, 1);
  await j.close();
  return { dir, cursor: join(dir, 'cursors', cursorFileName(SINK)) };
}

function victim(): string {
  const f = join(root, `victim-${n++}`);
  // Looks like a cursor, so a reader that followed the link would take a position from it.
  writeFileSync(f, `${JSON.stringify({ format: 1, name: SINK, position: 2, committedAt: SECRET })}\n`, { mode: 0o600 });
  return f;
}

function refusedUnsafe(open: () => unknown, file: string, pattern: RegExp): void {
  assert.throws(open, (e: unknown) => {
    assert.ok(isSensorError(e, 'ESENSOR_JOURNAL_UNSAFE'), String(e));
    assert.equal(e.file, file);
    assert.match(e.message, pattern);
    assert.ok(!String(e).includes(SECRET), 'nothing of the target in the error');
    return true;
  });
}

describe('issue-13: cursor and lock files are never read through links', () => {
  test('issue-13-cursor-symlink: a cursor file replaced by a symlink is ESENSOR_JOURNAL_UNSAFE for the writer and a reader; the target is untouched', async () => {
    const { dir, cursor } = await journalWithCursor();
    const target = victim();
    const before = readFileSync(target, 'utf8');
    rmSync(cursor);
    symlinkSync(target, cursor);
    refusedUnsafe(() => Journal.open(dir, { fsyncIntervalMs: 0 }), cursor, /symbolic link/);
    refusedUnsafe(() => Journal.open(dir, { readOnly: true }), cursor, /symbolic link/);
    assert.equal(readFileSync(target, 'utf8'), before);
  });

  test('issue-13-cursor-owner: a cursor file others can write, or another user owns, is refused by the writer', async () => {
    const { dir, cursor } = await journalWithCursor();
    chmodSync(cursor, 0o666);
    refusedUnsafe(() => Journal.open(dir, { fsyncIntervalMs: 0 }), cursor, /writable by others/);
    chmodSync(cursor, 0o620);
    refusedUnsafe(() => Journal.open(dir, { fsyncIntervalMs: 0 }), cursor, /writable by its group/);
    chmodSync(cursor, 0o600);
    if (process.geteuid?.() === 0) {
      chownSync(cursor, 65534, 65534);
      refusedUnsafe(() => Journal.open(dir, { fsyncIntervalMs: 0 }), cursor, /owned by uid 65534/);
      chownSync(cursor, 0, 0);
    }
    // Back to the sensor's own file: accepted, and the position is the committed one.
    const j = Journal.open(dir, { fsyncIntervalMs: 0 });
    try {
      assert.equal(j.cursor(SINK), 1);
    } finally {
      await j.close();
    }
  });

  test('issue-13-cursor-fifo: a FIFO or an oversize file named like a cursor is refused without hanging or reading it whole', async () => {
    const { dir, cursor } = await journalWithCursor();
    rmSync(cursor);
    execFileSync('mkfifo', ['-m', '600', cursor]);
    refusedUnsafe(() => new CursorStore(dir, true).load(), cursor, /not a regular file/);
    rmSync(cursor);
    writeFileSync(cursor, `${JSON.stringify({ format: 1, name: SINK, position: 1 })}${' '.repeat(10_000)}`, { mode: 0o600 });
    refusedUnsafe(() => new CursorStore(dir, true).load(), cursor, /larger than a cursor/);
  });

  test('issue-13-cursor-content: a damaged cursor is reported without quoting its bytes', async () => {
    const { dir, cursor } = await journalWithCursor();
    writeFileSync(cursor, `${SECRET}\n`, { mode: 0o600 });
    const r = new CursorStore(dir, true).load();
    assert.equal(r.cursors.size, 0);
    assert.deepEqual(r.bad, [{ file: cursor, reason: 'not valid JSON' }]);
  });

  test('issue-13-lock-symlink: a LOCK that is a symlink is refused, not read', async () => {
    const { dir } = await journalWithCursor();
    const target = victim();
    symlinkSync(target, join(dir, 'LOCK'));
    refusedUnsafe(() => Journal.open(dir, { fsyncIntervalMs: 0 }), join(dir, 'LOCK'), /symbolic link/);
    assert.ok(readFileSync(target, 'utf8').includes(SECRET), 'the target is untouched');
  });
});
