// issue-14: a leader's object is built once per leader table entry and shared
// (frozen) by every event naming it; each field it was built from, changed
// alone in the entry, gives the next event a new object that says so — as do
// a different entry type and re-read user/group names. Through the Enricher,
// a setuid of the session leader shows in its followers' next events. The
// ECS writer takes a frozen leader object it wrote before by reference.
import test from 'node:test';
import assert from 'node:assert/strict';
import { ProcessTable, type ProcEntry } from '../../src/enrich/process-table.js';
import { fillSession, type LeaderNames } from '../../src/enrich/session.js';
import { Enricher } from '../../src/enrich/enrich.js';
import { fixtureEvent } from '../../src/rules/fixtures.js';
import type { LeaderRef, SensorEvent, UserRef } from '../../src/model/event.js';
import { toEcs, ecsJson } from '../../src/normalize/ecs/ecs.js';
import { ecsLine } from '../../src/normalize/ecs/ecs-serializer.js';
import { corpus, HOST, AGENT } from '../helpers/normalize-corpus.js';

function table(): ProcessTable {
  const t = new ProcessTable({ hostId: 'h', maxEntries: 100, exitGraceMs: 10_000 });
  // 600: the session's leader (and its entry leader, sshd); 700: a child in its session, own group
  t.upsert({ pid: 600, startTicks: 20, name: 'bash', ppid: 500, executable: '/usr/bin/bash', args: ['bash', '-l'], start: '2026-12-07T10:00:00.000Z', uid: '1000', gid: '1000', sid: 600, pgid: 600, entryPid: 600, entryStartTicks: 20, entryType: 'sshd' });
  t.upsert({ pid: 700, startTicks: 30, name: 'make', ppid: 600, parentStartTicks: 20, executable: '/usr/bin/make', uid: '1000', gid: '1000', sid: 600, pgid: 700, entryPid: 600, entryStartTicks: 20, entryType: 'sshd' });
  return t;
}

function event(pid: number, ppid: number): SensorEvent {
  const e = fixtureEvent({ 'ebpf.kind': 'open', 'process.pid': pid, 'process.parent.pid': ppid });
  delete e.process.session_leader;
  delete e.process.group_leader;
  delete e.process.entry_leader;
  e.process.parent = { pid: ppid };
  return e;
}

interface Leaders { s: LeaderRef; g: LeaderRef; e: LeaderRef }

function leadersOf(t: ProcessTable, names?: LeaderNames): Leaders {
  const ev = event(700, 600);
  fillSession(t, ev, t.peek(700), undefined, names);
  return { s: ev.process.session_leader!, g: ev.process.group_leader!, e: ev.process.entry_leader! };
}

const copy = (l: LeaderRef): unknown => JSON.parse(JSON.stringify(l));

test('issue-14: events naming the same leaders share one frozen object each, equal to a fresh build', () => {
  const t = table();
  const a = leadersOf(t);
  const b = leadersOf(t);
  assert.equal(a.s, b.s);
  assert.equal(a.g, b.g);
  assert.equal(a.e, b.e);
  assert.ok(Object.isFrozen(a.s) && Object.isFrozen(a.e));
  assert.deepEqual(copy(a.s), { pid: 600, entity_id: t.peek(600)!.entityId, name: 'bash', executable: '/usr/bin/bash', args: ['bash', '-l'], start: '2026-12-07T10:00:00.000Z', user: { id: '1000' }, group: { id: '1000' } });
  assert.deepEqual(copy(a.e), { ...(copy(a.s) as object), entry_meta: { type: 'sshd' } });
  assert.deepEqual(copy(a.g), { pid: 700, entity_id: t.peek(700)!.entityId, name: 'make', executable: '/usr/bin/make', user: { id: '1000' }, group: { id: '1000' } });
});

// Each input of a leader's object, changed alone in the table entry, and what the next event must say.
const CHANGES: Array<[string, (e: ProcEntry) => void, (l: Record<string, unknown>) => void]> = [
  ['executable', (e) => { e.executable = '/usr/bin/zsh'; }, (l) => { l.executable = '/usr/bin/zsh'; l.name = 'zsh'; }],
  ['args', (e) => { e.args = ['bash', '-i']; }, (l) => { l.args = ['bash', '-i']; }],
  ['start', (e) => { e.start = '2026-12-07T11:00:00.000Z'; }, (l) => { l.start = '2026-12-07T11:00:00.000Z'; }],
  ['uid', (e) => { e.uid = '0'; }, (l) => { l.user = { id: '0' }; }],
  ['gid', (e) => { e.gid = '4'; }, (l) => { l.group = { id: '4' }; }],
  ['entity id', (e) => { e.entityId = 'other-entity'; }, (l) => { l.entity_id = 'other-entity'; }],
];

for (const [what, change, expect] of CHANGES) {
  test(`issue-14: a leader's ${what} changed in its entry gives the next event a new object that says so`, () => {
    const t = table();
    const before = leadersOf(t);
    const was = copy(before.s);
    change(t.peek(600)!);
    const after = leadersOf(t);
    const want = copy(before.s) as Record<string, unknown>;
    expect(want);
    assert.deepEqual(copy(after.s), want, 'session leader');
    assert.deepEqual(copy(after.e), { ...want, entry_meta: { type: 'sshd' } }, 'entry leader');
    assert.notEqual(after.s, before.s);
    assert.deepEqual(copy(before.s), was, 'the earlier event keeps what it said');
    assert.equal(after.g, before.g, 'the group leader (another entry) stays shared');
  });
}

test('issue-14: a leader without a file, renamed alone (prctl), gives the next event a new object with the new name', () => {
  const t = table();
  delete t.peek(600)!.executable;
  const before = leadersOf(t);
  assert.equal(before.s.name, 'bash');
  assert.equal(leadersOf(t).s, before.s);
  t.peek(600)!.name = 'renamed';
  const after = leadersOf(t);
  assert.equal(after.s.name, 'renamed');
  assert.equal(after.e.name, 'renamed');
  assert.equal(before.s.name, 'bash');
});

test('issue-14: the entry leader object follows the follower\'s entry type; the session leader object does not carry it', () => {
  const t = table();
  const a = leadersOf(t);
  t.peek(700)!.entryType = 'terminal';
  const b = leadersOf(t);
  assert.equal(b.e.entry_meta?.type, 'terminal');
  assert.equal(a.e.entry_meta?.type, 'sshd');
  assert.equal(b.s.entry_meta, undefined);
  delete t.peek(700)!.entryType;
  const c = leadersOf(t);
  assert.equal(c.e.entry_meta, undefined);
});

test('issue-14: leaders and the parent are named with the names as re-read (a new generation rebuilds them)', () => {
  const t = table();
  let users = new Map([['1000', 'alice']]);
  let groups = new Map([['1000', 'staff']]);
  const names = { generation: 1, user: (id: string) => users.get(id), groupName: (id: string) => groups.get(id) };
  const a = leadersOf(t, names);
  assert.deepEqual(a.s.user, { id: '1000', name: 'alice' });
  assert.deepEqual(a.g.group, { id: '1000', name: 'staff' });
  users = new Map([['1000', 'bob']]);
  groups = new Map();
  names.generation = 2;
  const b = leadersOf(t, names);
  assert.deepEqual(b.s.user, { id: '1000', name: 'bob' });
  assert.deepEqual(b.e.user, { id: '1000', name: 'bob' });
  assert.deepEqual(b.g.group, { id: '1000' });
  assert.deepEqual(a.s.user, { id: '1000', name: 'alice' }, 'the earlier event keeps its names');
  // without names at all: ids only, again a new object
  const c = leadersOf(t);
  assert.deepEqual(c.s.user, { id: '1000' });
  // the parent's user and group, named the same way
  const ev = event(700, 600);
  fillSession(t, ev, t.peek(700), undefined, names);
  assert.deepEqual(ev.process.parent.user, { id: '1000', name: 'bob' });
  assert.deepEqual(ev.process.parent.group, { id: '1000' });
});

test('issue-14: through the Enricher, a setuid of the session leader shows in its followers\' next events', () => {
  const en = new Enricher({ hostId: 'h', seedFromProc: false, resolveContainers: false, resolveNames: false });
  const NS = (ticks: number): string => String(BigInt(ticks) * 10_000_000n);
  const mk = (kind: string, pid: number, ppid: number, ticks: number, pticks: number, extra: Record<string, unknown> = {}): SensorEvent => {
    const e = event(pid, ppid);
    e.ebpf.kind = kind as SensorEvent['ebpf']['kind'];
    Object.assign(e.ebpf, extra);
    e.process.entity_id = '';
    e.ebpf.process = { start_boot_ns: NS(ticks), parent_start_boot_ns: NS(pticks), sid: 600, pgid: 600, comm: e.process.name };
    return e;
  };
  en.enrich(mk('fork', 600, 500, 20, 10));
  en.enrich(mk('fork', 700, 600, 30, 20));
  const first = mk('open', 700, 600, 30, 20);
  en.enrich(first);
  const second = mk('open', 700, 600, 30, 20);
  en.enrich(second);
  assert.equal(first.process.session_leader?.pid, 600);
  assert.equal(second.process.session_leader, first.process.session_leader);
  const uid = first.process.session_leader?.user?.id;
  const su = mk('setuid', 600, 500, 20, 10, { ids: { requested: ['4242'] } });
  su.process.user = { id: '4242' };
  en.enrich(su);
  const third = mk('open', 700, 600, 30, 20);
  en.enrich(third);
  assert.equal(third.process.session_leader?.user?.id, '4242');
  assert.equal(first.process.session_leader?.user?.id, uid);
});

// The ECS writer answers a frozen leader object it has written before by reference alone.
test('issue-14: ECS leaders: the same frozen object answers again; a new object, or an unfrozen one changed in place, shows', () => {
  const ce = structuredClone(corpus()[0]!);
  const p = ce.event.process;
  const check = (what: string): void => assert.equal(ecsLine(ce, HOST, AGENT), ecsJson(toEcs(ce, HOST, AGENT)), what);
  const args = ['sh', '-c', 'x'];
  const frozen = (name: string, user: UserRef = Object.freeze({ id: '0', name: 'root' })): LeaderRef =>
    Object.freeze({ pid: 20, entity_id: 'S', name, args, user, group: Object.freeze({ id: '0' }), entry_meta: Object.freeze({ type: 'sshd' as const }) });
  const a = frozen('sh');
  p.session_leader = a;
  p.group_leader = a;
  p.entry_leader = a;
  check('first');
  check('again');
  p.session_leader = frozen('bash');
  p.entry_leader = p.session_leader;
  check('a new frozen object, same entity');
  // the shared args array (a table entry's) changed in place
  args[2] = 'y';
  check('args changed in place');
  // a frozen leader whose user, group or entry_meta is not frozen, changed in place (each case a new
  // name: a leader equal to the one cached answers with the cached entry, which keeps its own object)
  const u: UserRef = { id: '5' };
  p.session_leader = frozen('bash', u);
  check('unfrozen user');
  u.name = 'five';
  check('unfrozen user renamed in place');
  const g: UserRef = { id: '6' };
  p.session_leader = Object.freeze({ ...frozen('ash'), group: g });
  check('unfrozen group');
  g.name = 'six';
  check('unfrozen group renamed in place');
  const meta: { type: 'sshd' | 'init' } = { type: 'sshd' };
  p.entry_leader = Object.freeze({ ...frozen('dash'), entry_meta: meta });
  check('unfrozen entry_meta');
  meta.type = 'init';
  check('unfrozen entry_meta changed in place');
  // an unfrozen leader changed in place
  const m: LeaderRef = { pid: 20, entity_id: 'S', name: 'zsh', entry_meta: { type: 'init' } };
  p.session_leader = m;
  p.entry_leader = m;
  check('unfrozen');
  m.name = 'ksh';
  check('unfrozen renamed in place');
  m.entry_meta!.type = 'sshd';
  check('unfrozen entry type changed in place');
});
