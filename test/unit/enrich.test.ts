import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Enricher } from '../../src/enrich/enrich.js';
import { ProcessTable, entityId, ticksOf } from '../../src/enrich/process-table.js';
import { containerFromCgroupPath, ContainerResolver } from '../../src/enrich/containers.js';
import { decodeRecord, type DecodeContext } from '../../src/decode/decode.js';
import { EventType, Syscall } from '../../src/decode/abi.generated.js';
import type { SensorEvent } from '../../src/model/event.js';
import { buildRecord, type RecordSpec } from '../helpers/record-builder.js';

const ctx = (): DecodeContext => ({ bootToRealtimeNs: 1_700_000_000_000_000_000n, bootIdPrefix: 'abcd0123', sequence: 0 });
const TICK = 10_000_000n;

function ev(spec: RecordSpec, c = ctx()): SensorEvent {
  const r = buildRecord(spec);
  return decodeRecord(r, 0, r.length, c);
}

/** A fake /proc with one process (pid 42, started at tick 500, parent 1). */
function fakeProc(): string {
  const root = mkdtempSync(join(tmpdir(), 'ebpf-sensor-proc-'));
  const p = join(root, '42');
  mkdirSync(p);
  // field 22 (starttime) is the 20th after the comm's closing paren
  const fields = ['S', '1', ...Array.from({ length: 17 }, () => '0'), '500', '0'];
  writeFileSync(join(p, 'stat'), `42 (old daemon) ${fields.join(' ')}\n`);
  writeFileSync(join(p, 'cmdline'), 'daemon\0--serve\0');
  writeFileSync(join(p, 'cgroup'), '0::/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n');
  symlinkSync('/usr/sbin/daemon', join(p, 'exe'));
  symlinkSync('/srv', join(p, 'cwd'));
  return root;
}

test('processes seeded from /proc enrich their later events (exe, args, cwd, same entity id as the kernel gives)', () => {
  const procRoot = fakeProc();
  const en = new Enricher({ hostId: 'host-1', seedFromProc: true, resolveContainers: true, resolveNames: false, procRoot });
  assert.equal(en.seeded, 1);
  // An open by pid 42 whose kernel start time is inside tick 500.
  const e = ev({ type: EventType.SE_EV_OPEN, pid: 42, startNs: 500n * TICK + 1234n, ret: 3, args: [0, 0, 0, 0, 0, Syscall.SE_SC_OPENAT], strs: ['/etc/hosts', null, null] });
  en.enrich(e);
  assert.equal(e.process.executable, '/usr/sbin/daemon');
  assert.deepEqual(e.process.args, ['daemon', '--serve']);
  assert.equal(e.process.working_directory, '/srv');
  assert.equal(e.process.name, 'daemon');
  assert.equal(e.process.entity_id, entityId('host-1', 42, 500));
  assert.equal(e.container?.id, '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef');
  assert.equal(e.container?.runtime, 'docker');
});

test('exec, fork and exit keep the table current; the entity id survives exec and changes with pid reuse', () => {
  const en = new Enricher({ hostId: 'h', seedFromProc: false, resolveContainers: false, resolveNames: false });
  const c = ctx();
  const parentStart = 100n * TICK;
  const fork = ev({ type: EventType.SE_EV_FORK, pid: 10, startNs: parentStart, args: [11, 11, 200n * TICK + 5n, 0] }, c);
  en.enrich(fork);
  assert.equal(fork.process.pid, 11);
  assert.equal(fork.process.parent.pid, 10);
  const exec = ev({ type: EventType.SE_EV_EXEC, pid: 11, ppid: 10, startNs: 200n * TICK + 5n, parentStartNs: parentStart, strs: ['/bin/sh', 'sh\0-c\0id\0', '/root', '/usr/bin/dash'] }, c);
  en.enrich(exec);
  assert.equal(exec.process.entity_id, fork.process.entity_id, 'exec keeps the entity id');
  assert.equal(exec.process.parent.entity_id, entityId('h', 10, 100));
  const later = ev({ type: EventType.SE_EV_CONNECT, pid: 11, ppid: 10, startNs: 200n * TICK + 5n, parentStartNs: parentStart, args: [3, 1, 6] }, c);
  en.enrich(later);
  assert.equal(later.process.executable, '/usr/bin/dash');
  assert.deepEqual(later.process.args, ['sh', '-c', 'id']);
  const exit = ev({ type: EventType.SE_EV_EXIT, pid: 11, ppid: 10, startNs: 200n * TICK + 5n, parentStartNs: parentStart, args: [0, 0, 1] }, c);
  en.enrich(exit);
  assert.equal(exit.process.entity_id, exec.process.entity_id);
  // pid 11 reused by a new process (another start tick): another entity.
  const reuse = ev({ type: EventType.SE_EV_EXEC, pid: 11, ppid: 10, startNs: 900n * TICK, parentStartNs: parentStart, strs: ['/bin/ls', 'ls\0', '/', '/usr/bin/ls'] }, c);
  en.enrich(reuse);
  assert.notEqual(reuse.process.entity_id, exec.process.entity_id);
});

test('exited processes are kept for the grace period on the events\' clock, whatever the wall clock says', (t) => {
  const en = new Enricher({ hostId: 'h', seedFromProc: false, resolveContainers: false, resolveNames: false });
  const c = ctx();
  const S = 1_000_000_000n;
  const pStart = 100n * TICK;
  const cStart = 150n * TICK;
  en.enrichBatch([
    ev({ type: EventType.SE_EV_EXEC, pid: 30, ppid: 1, tsNs: 1n * S, startNs: pStart, strs: ['/usr/sbin/nginx', 'nginx\0', '/', '/usr/sbin/nginx'] }, c),
    ev({ type: EventType.SE_EV_EXEC, pid: 31, ppid: 30, tsNs: 2n * S, startNs: cStart, parentStartNs: pStart, strs: ['/bin/sh', 'sh\0', '/', '/usr/bin/dash'] }, c),
    ev({ type: EventType.SE_EV_EXIT, pid: 30, ppid: 1, tsNs: 3n * S, startNs: pStart, args: [0, 0, 1] }, c),
  ]);
  // A replay runs far faster (or slower) than the events happened: the wall
  // clock jumps an hour; nothing may expire because of it.
  const realNow = Date.now;
  t.mock.method(Date, 'now', () => realNow() + 3_600_000);
  const late = ev({ type: EventType.SE_EV_CONNECT, pid: 31, ppid: 30, tsNs: 12n * S, startNs: cStart, parentStartNs: pStart, args: [3, 1, 6] }, c);
  en.enrichBatch([late]);
  assert.equal(late.process.parent.executable, '/usr/sbin/nginx', 'the exited parent is still known 9 s (event time) after its exit');
  // Another exit 10.5 s (event time) after the parent's: its grace has passed.
  en.enrichBatch([
    ev({ type: EventType.SE_EV_EXEC, pid: 40, ppid: 1, tsNs: 13n * S, startNs: 400n * TICK, strs: ['/bin/true', 'true\0', '/', '/usr/bin/true'] }, c),
    ev({ type: EventType.SE_EV_EXIT, pid: 40, ppid: 1, tsNs: 13n * S + S / 2n, startNs: 400n * TICK, args: [0, 0, 1] }, c),
  ]);
  assert.equal(en.table.get(30), undefined, 'the parent expired on the event clock');
  const after = ev({ type: EventType.SE_EV_CONNECT, pid: 31, ppid: 30, tsNs: 14n * S, startNs: cStart, parentStartNs: pStart, args: [3, 1, 6] }, c);
  en.enrichBatch([after]);
  assert.equal(after.process.parent.executable, undefined);
  assert.equal(after.process.executable, '/usr/bin/dash', 'the live child is still known');
});

test('the exit grace clock never runs backwards (events from several CPUs arrive slightly out of order)', () => {
  const table = new ProcessTable({ hostId: 'h', maxEntries: 100, exitGraceMs: 1000 });
  table.upsert({ pid: 1, startTicks: 1, name: 'a', ppid: 0 });
  table.upsert({ pid: 2, startTicks: 2, name: 'b', ppid: 0 });
  table.upsert({ pid: 3, startTicks: 3, name: 'c', ppid: 0 });
  table.markExited(1, 1, 10_000);
  table.markExited(2, 2, 9_500); // earlier than the clock: queued at the clock's time
  assert.equal(table.now, 10_000);
  table.markExited(3, 3, 11_001);
  assert.equal(table.get(1), undefined);
  assert.equal(table.get(2), undefined);
  assert.equal(table.get(3)?.exited, true);
});

test('a failed exec does not change what the process is', () => {
  const en = new Enricher({ hostId: 'h', seedFromProc: false, resolveContainers: false, resolveNames: false });
  const start = 300n * TICK;
  en.enrich(ev({ type: EventType.SE_EV_EXEC, pid: 20, startNs: start, strs: ['/bin/bash', 'bash\0', '/', '/usr/bin/bash'] }));
  const fail = ev({ type: EventType.SE_EV_EXEC, pid: 20, startNs: start, ret: -2, strs: ['/nope', 'nope\0', '/', null] });
  en.enrich(fail);
  assert.equal(fail.process.executable, '/usr/bin/bash');
  assert.equal(fail.file?.path, '/nope');
});

test('user and group names come from passwd/group files', () => {
  const en = new Enricher({ hostId: 'h', seedFromProc: false, resolveContainers: false, resolveNames: true });
  const e = ev({ type: EventType.SE_EV_SETUID, uid: 0, euid: 0, gid: 0, args: [0, -1, -1, 0, 0, Syscall.SE_SC_SETUID] });
  en.enrich(e);
  assert.equal(e.user.name, 'root');
  assert.equal(e.process.group.name, 'root');
});

test('the process table stays bounded when millions of short processes come and go', () => {
  const table = new ProcessTable({ hostId: 'h', maxEntries: 1000, exitGraceMs: 0 });
  const t0 = Date.now();
  for (let pid = 1; pid <= 300_000; pid++) {
    table.upsert({ pid, startTicks: pid, name: 'x', ppid: 1 });
    if (pid % 2 === 0) table.markExited(pid, pid, t0 + 1);
  }
  table.expire(t0 + 10);
  assert.ok(table.size <= 1000, `table holds ${table.size} entries`);
  assert.ok(table.pendingExits <= 1000, `exit queue holds ${table.pendingExits} entries`);
  assert.ok(table.evictions > 0);
  // the most recent process is still known
  assert.equal(table.get(299_999)?.pid, 299_999);
});

test('enrich is idempotent: a replayed (already enriched) event is left as it is', () => {
  const en = new Enricher({ hostId: 'other-host', seedFromProc: false, resolveContainers: false, resolveNames: true });
  const e = ev({ type: EventType.SE_EV_OPEN, pid: 5, ret: 3, args: [0, 0, 0, 0, 0, Syscall.SE_SC_OPENAT], strs: ['/etc/hosts', null, null] });
  e.process.entity_id = 'from-the-capture';
  e.process.executable = '/usr/bin/recorded';
  e.user.name = 'recorded-user';
  const before = JSON.stringify(e);
  en.enrich(e);
  const after = JSON.parse(JSON.stringify(e)) as SensorEvent;
  assert.equal(after.process.entity_id, 'from-the-capture');
  assert.equal(after.process.executable, '/usr/bin/recorded');
  assert.equal(after.user.name, 'recorded-user');
  assert.ok(before.length <= JSON.stringify(e).length);
});

test('container ids from the cgroup paths of the common runtimes', () => {
  const id = 'a'.repeat(64);
  assert.deepEqual(containerFromCgroupPath(`/system.slice/docker-${id}.scope`), { id, runtime: 'docker' });
  assert.deepEqual(containerFromCgroupPath(`/docker/${id}`), { id, runtime: 'docker' });
  assert.deepEqual(containerFromCgroupPath(`/kubepods.slice/kubepods-pod1.slice/cri-containerd-${id}.scope`), { id, runtime: 'containerd' });
  assert.deepEqual(containerFromCgroupPath(`/machine.slice/libpod-${id}.scope`), { id, runtime: 'podman' });
  assert.deepEqual(containerFromCgroupPath(`/kubepods/burstable/pod1/crio-${id}`), { id, runtime: 'cri-o' });
  assert.equal(containerFromCgroupPath('/user.slice/user-1000.slice/session-2.scope'), undefined);
  // resolved once per cgroup id
  const procRoot = fakeProc();
  const r = new ContainerResolver(procRoot);
  const first = r.lookup('777', 42);
  assert.equal(first?.container?.runtime, 'docker');
  assert.equal(r.lookup('777', 999999), first, 'cached by cgroup id, even for a pid that is gone');
});

test('ticksOf matches /proc stat precision', () => {
  assert.equal(ticksOf('5000000000'), 500);
  assert.equal(ticksOf(5_009_999_999n), 500);
});

test('issue-14: a full table evicts the least recently used processes, a lookup counting as a use', () => {
  const table = new ProcessTable({ hostId: 'h', maxEntries: 100, exitGraceMs: 1000 });
  for (let pid = 1; pid <= 100; pid++) table.upsert({ pid, startTicks: pid, name: 'x', ppid: 1 });
  assert.equal(table.get(1, 1)?.pid, 1); // used: now the most recent
  table.upsert({ pid: 101, startTicks: 101, name: 'x', ppid: 1 });
  assert.ok(table.size <= 100 && table.evictions > 0);
  assert.equal(table.get(1)?.pid, 1, 'looked up just before: kept');
  assert.equal(table.get(2), undefined, 'the least recently used: evicted');
  assert.equal(table.get(101)?.pid, 101);
});

test('issue-14: ticksOf without BigInt agrees with exact division, at tick boundaries and past 2^53', () => {
  const exact = (s: string): number => Number(BigInt(s) / 10_000_000n);
  const cases: string[] = ['0', '9999999', '10000000', '10000001', '999999999999999', '9007199254740991', '9007199254740993', '18446744073709551615'];
  for (let k = 1; k < 2000; k++) {
    const q = BigInt(Math.floor(Math.random() * 900_000_000)) + 1n;
    for (const d of [-1n, 0n, 1n]) cases.push((q * 10_000_000n + d).toString());
    cases.push(String(Math.floor(Math.random() * 1e15)));
  }
  for (const c of cases) assert.equal(ticksOf(c), exact(c), c);
  assert.equal(ticksOf(123456789012345678n), exact('123456789012345678'));
});

test("an exec's provenance writer gets the entity id its own events carry, also after it exited", () => {
  const en = new Enricher({ hostId: 'host-1', seedFromProc: false, resolveContainers: false, resolveNames: false });
  // The writer (pid 700) connects; its events carry an entity id.
  const own = ev({ type: EventType.SE_EV_CONNECT, pid: 700, startNs: 300n * TICK, args: [3, 1, 6] });
  en.enrich(own);
  const exec = ev({
    type: EventType.SE_EV_EXEC,
    pid: 701,
    startNs: 400n * TICK,
    args: [1, 701, 9, 0, 0, Syscall.SE_SC_EXECVE],
    strs: ['/tmp/x', '/tmp/x\0', '/tmp', '/tmp/x'],
    provenance: { writeNs: 350n * TICK, startNs: 300n * TICK, pid: 700, uid: 0, flags: 0, comm: 'dropper', exe: '/tmp/dropper' },
  });
  en.enrich(exec);
  assert.ok(own.process.entity_id);
  assert.equal(exec.ebpf.provenance?.writer.entity_id, own.process.entity_id);
  assert.equal(exec.ebpf.provenance?.writer.entity_id, entityId('host-1', 700, ticksOf(300n * TICK)));
});

test("a fork names its parent as every later event does: by the parent's file, not its comm", () => {
  const en = new Enricher({ hostId: 'h', seedFromProc: false, resolveContainers: false, resolveNames: false });
  const c = ctx();
  const parentStart = 100n * TICK;
  // The parent's comm is cut at 15 bytes; its file's base name is longer.
  const exec = ev({ type: EventType.SE_EV_EXEC, pid: 10, ppid: 1, comm: 'web-server-daem', startNs: parentStart, parentStartNs: 1n * TICK, strs: ['/usr/sbin/web-server-daemon', 'web-server-daemon\0', '/srv', '/usr/sbin/web-server-daemon'] }, c);
  en.enrich(exec);
  assert.equal(exec.process.name, 'web-server-daemon');
  const fork = ev({ type: EventType.SE_EV_FORK, pid: 10, comm: 'web-server-daem', startNs: parentStart, args: [11, 11, 200n * TICK + 5n, 0] }, c);
  en.enrich(fork);
  assert.equal(fork.process.parent.name, 'web-server-daemon', 'the fork document');
  const later = ev({ type: EventType.SE_EV_CONNECT, pid: 11, ppid: 10, comm: 'web-server-daem', startNs: 200n * TICK + 5n, parentStartNs: parentStart, args: [3, 1, 6] }, c);
  en.enrich(later);
  assert.equal(later.process.parent.name, 'web-server-daemon', 'a later document of the child');
  assert.equal(later.process.name, fork.process.name, 'the child is named alike in both');
  // A parent the table has no file for keeps the name the record gives.
  const orphan = ev({ type: EventType.SE_EV_FORK, pid: 20, comm: 'unknown-task', startNs: 300n * TICK, args: [21, 21, 400n * TICK, 0] }, c);
  en.enrich(orphan);
  assert.equal(orphan.process.parent.name, 'unknown-task');
});
