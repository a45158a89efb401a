// issue-16: event.action speaks Elastic's endpoint vocabulary (exec, fork,
// end, creation, modification, deletion, rename, connection_attempted,
// connection_accepted, uid_change, gid_change, load_module, …) so Elastic
// Security's prebuilt rules read our documents; the syscall stays in
// ebpf.syscall. Events recorded before the change are upgraded by enrich.
import test from 'node:test';
import assert from 'node:assert/strict';
import { ACTIONS_OF_KIND, endpointAction, upgradeAction } from '../../src/model/actions.js';
import { EVENT_KINDS } from '../../src/model/event.js';
import { toEcs } from '../../src/normalize/ecs/ecs.js';
import { Enricher } from '../../src/enrich/enrich.js';
import { fixtureEvent } from '../../src/rules/fixtures.js';
import { corpus, HOST, AGENT } from '../helpers/normalize-corpus.js';

const ELASTIC = {
  exec: 'exec', fork: 'fork', exit: 'end', unlink: 'deletion', rename: 'rename', setuid: 'uid_change',
  setgid: 'gid_change', module_load: 'load_module', connect: 'connection_attempted', accept: 'connection_accepted',
  mkdir: 'creation', symlink: 'creation', link: 'creation', truncate: 'modification',
} as const;

test('issue-16: every family has an endpoint action, and the ones Elastic rules test are Elastic\'s words', () => {
  assert.deepEqual(Object.keys(ACTIONS_OF_KIND).sort(), [...EVENT_KINDS].sort());
  for (const [kind, action] of Object.entries(ELASTIC)) {
    assert.equal(endpointAction(fixtureEvent({ 'ebpf.kind': kind })), action, kind);
  }
  const open = (intent: string[]): string => endpointAction(fixtureEvent({ 'ebpf.kind': 'open', 'ebpf.open': { flags: 0, flag_names: [], intent } }));
  assert.equal(open(['read']), 'open');
  assert.equal(open(['write']), 'modification');
  assert.equal(open(['write', 'truncate']), 'modification');
  assert.equal(open(['write', 'create']), 'creation');
});

test('issue-16: decoded events carry the endpoint action and the syscall apart, in ECS too', () => {
  let seen = 0;
  for (const ce of corpus()) {
    const ev = ce.event;
    assert.ok(ACTIONS_OF_KIND[ev.ebpf.kind].includes(ev.event.action), `${ev.ebpf.kind}: ${ev.event.action}`);
    const doc = toEcs(ce, HOST, AGENT) as { event: { action: string }; ebpf: { syscall?: string } };
    assert.equal(doc.event.action, ev.event.action);
    assert.equal(doc.ebpf.syscall, ev.ebpf.syscall, 'the syscall keeps a field of its own');
    if (ev.ebpf.kind === 'connect') {
      assert.equal(doc.event.action, 'connection_attempted');
      assert.equal(doc.ebpf.syscall, 'connect');
      seen++;
    }
  }
  assert.ok(seen > 0);
});

test('issue-16: events recorded with the syscall as event.action are upgraded by enrich, idempotently', () => {
  const old = fixtureEvent({ 'ebpf.kind': 'open', 'event.action': 'openat', 'ebpf.syscall': 'openat', 'ebpf.open': { flags: 0o101, flag_names: ['O_WRONLY', 'O_CREAT'], intent: ['write', 'create'] }, 'file.path': '/etc/cron.d/x' });
  const enricher = new Enricher({ hostId: 'h', seedFromProc: false, resolveContainers: false, resolveNames: false });
  enricher.enrich(old);
  assert.equal(old.event.action, 'creation');
  assert.equal(old.ebpf.syscall, 'openat');
  upgradeAction(old);
  assert.equal(old.event.action, 'creation');
  const exit = fixtureEvent({ 'ebpf.kind': 'exit', 'event.action': 'exit' });
  upgradeAction(exit);
  assert.equal(exit.event.action, 'end');
  const tamper = fixtureEvent({ 'ebpf.kind': 'tamper' });
  upgradeAction(tamper);
  assert.equal(tamper.event.action, 'argument-tampering');
});
