// issue-14: names are checked for changes once per event (NameResolver.refresh,
// called by enrich), not once per user or group looked up; a changed passwd or
// group file still shows at the next refresh.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NameResolver } from '../../src/enrich/names.js';

test('issue-14: lookups read the tables; refresh() re-reads files that changed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'names-'));
  try {
    const passwd = join(dir, 'passwd');
    const group = join(dir, 'group');
    writeFileSync(passwd, 'alice:x:1000:1000::/home/alice:/bin/sh\n');
    writeFileSync(group, 'staff:x:1000:\n');
    const n = new NameResolver(passwd, group, 0);
    assert.equal(n.user('1000'), 'alice');
    assert.equal(n.groupName('1000'), 'staff');
    // A different size, so the change shows even within one mtime tick.
    writeFileSync(passwd, 'bob:x:1000:1000::/home/bob:/bin/sh\ncarol:x:1001:1001::/:/bin/sh\n');
    writeFileSync(group, 'wheel:x:1000:\nusers:x:1001:\n');
    assert.equal(n.user('1000'), 'alice', 'a lookup alone does not touch the files');
    n.refresh();
    assert.equal(n.user('1000'), 'bob');
    assert.equal(n.user('1001'), 'carol');
    assert.equal(n.groupName('1000'), 'wheel');
    assert.equal(n.groupName('1001'), 'users');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
