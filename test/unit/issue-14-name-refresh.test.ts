// issue-14: names are checked for changes once per event (NameResolver.refresh,
// called by enrich), not once per user or group looked up; a changed passwd or
// group file still shows at the next refresh. Named users are shared frozen
// references (model/user-ref.ts), swapped in rather than written into the
// decoded objects.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NameResolver } from '../../src/enrich/names.js';
import { Enricher } from '../../src/enrich/enrich.js';
import { decodeRecord } from '../../src/decode/decode.js';
import { EventType, Syscall } from '../../src/decode/abi.generated.js';
import type { SensorEvent } from '../../src/model/event.js';
import { buildRecord } from '../helpers/record-builder.js';

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

test('issue-14: enrich names users with shared frozen references and leaves the decoded objects as they were', () => {
  const dir = mkdtempSync(join(tmpdir(), 'names-root-'));
  try {
    mkdirSync(join(dir, 'etc'));
    writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n');
    writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nstaff:x:1000:\n');
    const en = new Enricher({ hostId: 'h', seedFromProc: false, resolveContainers: false, resolveNames: true, hostRoot: dir });
    const decode = (pid: number): SensorEvent => {
      const r = buildRecord({ type: EventType.SE_EV_OPEN, pid, uid: 1000, euid: 0, gid: 1000, egid: 4242, ret: 3, args: [0, 0, 0, 0, 0, Syscall.SE_SC_OPENAT], strs: ['/etc/hosts', null, null] });
      return decodeRecord(r, 0, r.length, { bootToRealtimeNs: 1_700_000_000_000_000_000n, bootIdPrefix: 'abcd0123', sequence: 0 });
    };
    const a = decode(7);
    const b = decode(8);
    const decodedUser = a.process.user;
    en.enrich(a);
    en.enrich(b);
    assert.deepEqual(a.process.user, { id: '0', name: 'root' });
    assert.deepEqual(a.process.real_user, { id: '1000', name: 'alice' });
    assert.deepEqual(a.process.real_group, { id: '1000', name: 'staff' });
    assert.deepEqual(a.user, { id: '0', name: 'root' });
    assert.deepEqual(a.process.group, { id: '4242' }, 'an id without a name stays as decoded');
    assert.equal(a.process.user, b.process.user, 'one object for one user');
    assert.equal(a.process.user, a.user);
    assert.ok(Object.isFrozen(a.process.user));
    assert.deepEqual(decodedUser, { id: '0' }, 'the decoded object is not edited');
    // A replayed event's own name stays, object and all.
    const c = decode(9);
    const recorded = { id: '0', name: 'recorded' };
    c.process.user = recorded;
    en.enrich(c);
    assert.equal(c.process.user, recorded);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
