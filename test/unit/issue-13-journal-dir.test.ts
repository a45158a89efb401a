// issue 13, case 6: the journal directory is the sensor's own. An existing
// directory others can write (or owned by another user, or a symlink) is
// refused with ESENSOR_JOURNAL_UNSAFE before anything in it is opened; a
// symlink named like a segment is never followed, so its target (a
// root-owned file elsewhere) is neither truncated nor written.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSensorError } from '../../src/errors.js';
import { segmentName } from '../../src/journal/format.js';
import { Journal } from '../../src/journal/journal.js';
import { classified } from '../helpers/journal-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'ebpf-sensor-issue13-journal-'));
const SECRET = 'root:$6$precious:19000:0:99999:7:::\n';

/** A file outside the journal that a planted link points at. */
function victim(name: string): string {
  const f = join(root, `${name}.victim`);
  writeFileSync(f, SECRET, { mode: 0o600 });
  return f;
}

function refused(dir: string, pattern: RegExp): void {
  assert.throws(
    () => Journal.open(dir, { fsyncIntervalMs: 0 }),
    (e: unknown) => {
      assert.ok(isSensorError(e, 'ESENSOR_JOURNAL_UNSAFE'), String(e));
      assert.match(e.message, pattern);
      return true;
    },
  );
}

describe('issue-13: journal directory safety', () => {
  test('issue-13-journal-symlink: a world-writable journal directory with a planted segment symlink is refused; the target is untouched', () => {
    const dir = join(root, 'open');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const target = victim('open');
    symlinkSync(target, join(dir, segmentName(0)));
    refused(dir, /writable by others/);
    assert.equal(readFileSync(target, 'utf8'), SECRET);
  });

  test('issue-13-journal-symlink: a group-writable directory, one owned by another user, and a symlinked directory are refused', () => {
    const g = join(root, 'group');
    mkdirSync(g);
    chmodSync(g, 0o770);
    refused(g, /writable by its group/);
    if (process.geteuid?.() === 0) {
      const other = join(root, 'other');
      mkdirSync(other, { mode: 0o700 });
      chownSync(other, 65534, 65534);
      refused(other, /owned by uid 65534/);
    }
    const real = join(root, 'real');
    mkdirSync(real, { mode: 0o700 });
    const link = join(root, 'link');
    symlinkSync(real, link);
    refused(link, /symbolic link/);
  });

  test('issue-13-journal-symlink: in our own directory a symlink named like a segment is refused, never followed', async () => {
    for (const at of [0, 5]) {
      const dir = join(root, `own-${at}`);
      if (at > 0) {
        // A journal with records, so the link sits after a real segment (the next one the writer would open).
        const j = Journal.open(dir, { fsyncIntervalMs: 0 });
        j.append([classified(0), classified(1), classified(2), classified(3), classified(4)]);
        await j.close();
      } else mkdirSync(dir, { mode: 0o700 });
      const target = victim(`own-${at}`);
      symlinkSync(target, join(dir, segmentName(at)));
      refused(dir, /symbolic link where a journal file should be/);
      assert.equal(readFileSync(target, 'utf8'), SECRET);
    }
  });

  test('issue-13-journal-symlink: a fresh directory (created 0700) and a safe existing one open', async () => {
    const fresh = join(root, 'fresh', 'journal');
    await Journal.open(fresh, { fsyncIntervalMs: 0 }).close();
    await Journal.open(fresh, { fsyncIntervalMs: 0 }).close();
  });
});
