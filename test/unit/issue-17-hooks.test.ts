// issue-17: the hooks' records decoded (file capabilities to names, text and
// binary values, times and "now", process_vm, prctl, delete_module) and the
// process table following setsid/setpgid/prctl at once, not at the next exec.
import test from 'node:test';
import assert from 'node:assert/strict';
import { decodeRecord } from '../../src/decode/decode.js';
import { fileCapabilities } from '../../src/decode/hooks.js';
import { EventType as E, Syscall as S, RecordFlags } from '../../src/decode/abi.generated.js';
import { Enricher } from '../../src/enrich/enrich.js';
import { fixtureEvent } from '../../src/rules/fixtures.js';
import type { SensorEvent } from '../../src/model/event.js';
import { buildRecord, type RecordSpec } from '../helpers/record-builder.js';
import { decodeContext } from '../helpers/normalize-corpus.js';

function decode(spec: RecordSpec): SensorEvent {
  const rec = buildRecord(spec);
  return decodeRecord(rec, 0, rec.length, decodeContext());
}

function caps(magic: number, words: number[], rootid?: number): Buffer {
  const b = Buffer.alloc(4 + words.length * 4 + (rootid !== undefined ? 4 : 0));
  b.writeUInt32LE(magic, 0);
  words.forEach((w, i) => b.writeUInt32LE(w >>> 0, 4 + i * 4));
  if (rootid !== undefined) b.writeUInt32LE(rootid, 4 + words.length * 4);
  return b;
}

test('issue-17: security.capability values become capability names (revisions 1, 2, 3)', () => {
  // revision 1: one 32-bit word pair, no effective bit
  assert.deepEqual(fileCapabilities(caps(0x01000000, [1 << 13, 0])), { permitted: ['CAP_NET_RAW'], inheritable: [], effective: false, revision: 1 });
  // revision 2, effective: cap_setuid, cap_sys_admin (21) permitted; cap_bpf (39 = high word bit 7) permitted
  const v2 = fileCapabilities(caps(0x02000001, [(1 << 7) | (1 << 21), 1 << 0, 1 << 7, 0]))!;
  assert.deepEqual(v2.permitted, ['CAP_SETUID', 'CAP_SYS_ADMIN', 'CAP_BPF']);
  assert.deepEqual(v2.inheritable, ['CAP_CHOWN']);
  assert.equal(v2.effective, true);
  // revision 3: namespaced, with the root uid
  assert.equal(fileCapabilities(caps(0x03000001, [1 << 1, 0, 0, 0], 100000))!.rootid, 100000);
  assert.equal(fileCapabilities(Buffer.from('junk')), undefined);
  assert.equal(fileCapabilities(caps(0x07000000, [1, 0])), undefined, 'unknown revision');
});

test('issue-17: xattr records: attribute, value as text or hex, removal, io_uring flag', () => {
  const setcap = decode({ type: E.SE_EV_XATTR, args: [-100, 20, 0, 0, 0, S.SE_SC_SETXATTR], strs: ['x', 'security.capability', '/opt', caps(0x02000001, [1 << 7, 0, 0, 0])] });
  assert.equal(setcap.ebpf.kind, 'xattr');
  assert.equal(setcap.event.action, 'attributes_modified');
  assert.equal(setcap.file?.path, '/opt/x', 'relative path joined to its base');
  assert.deepEqual(setcap.ebpf.xattr?.capabilities?.permitted, ['CAP_SETUID']);
  assert.equal(setcap.ebpf.xattr?.value_size, 20);
  const label = decode({
    type: E.SE_EV_XATTR,
    flags: RecordFlags.SE_F_PATH_FROM_FILE | RecordFlags.SE_F_IO_URING | (41 << RecordFlags.SE_F_IOU_OP_SHIFT),
    args: [3, 33, 0, 0, 0, S.SE_SC_FSETXATTR],
    strs: ['/usr/sbin/sshd', 'security.selinux', null, Buffer.from('system_u:object_r:sshd_exec_t:s0\0')],
  });
  assert.equal(label.ebpf.xattr?.value, 'system_u:object_r:sshd_exec_t:s0');
  assert.equal(label.ebpf.path_source, 'file');
  assert.equal(label.ebpf.io_uring?.operation, 'IORING_OP_FSETXATTR');
  const bin = decode({ type: E.SE_EV_XATTR, args: [-100, 3, 0, 0, 0, S.SE_SC_LSETXATTR], strs: ['/a', 'user.b', null, Buffer.from([0, 1, 2])] });
  assert.equal(bin.ebpf.xattr?.value_hex, '000102');
  const rm = decode({ type: E.SE_EV_XATTR, ret: -61, args: [-100, 0, 0, 0, 0, S.SE_SC_REMOVEXATTR], strs: ['/a', 'user.b'] });
  assert.equal(rm.ebpf.syscall, 'removexattr');
  assert.equal(rm.ebpf.xattr?.value_size, undefined);
  assert.equal(rm.event.outcome, 'failure');
});

test('issue-17: utimes records: explicit times in ISO-8601 with nanoseconds, now, omit', () => {
  const t = Buffer.alloc(32);
  t.writeBigInt64LE(1262304000n, 0);
  t.writeBigInt64LE(5n, 8);
  t.writeBigInt64LE(0n, 16);
  t.writeBigInt64LE(BigInt((1 << 30) - 2), 24);
  const ev = decode({ type: E.SE_EV_UTIMES, args: [-100, 0, 0, 0, 0, S.SE_SC_UTIMENSAT], strs: ['/usr/bin/x', t] });
  assert.deepEqual(ev.ebpf.utimes, { atime: '2010-01-01T00:00:00.000000005Z', mtime: 'omit', now: false });
  const now = decode({ type: E.SE_EV_UTIMES, flags: RecordFlags.SE_F_PATH_FROM_FILE, args: [4, 0, 1, 0, 0, S.SE_SC_UTIMENSAT], strs: ['/tmp/f'] });
  assert.deepEqual(now.ebpf.utimes, { atime: 'now', mtime: 'now', now: true });
  assert.equal(now.file?.path, '/tmp/f');
});

test('issue-17: process_vm, prctl, setpgid and delete_module records', () => {
  const pv = decode({ type: E.SE_EV_PROC_VM_WRITE, ret: 16, args: [812, 1, 2, 0x7f00deadb000n, 32, S.SE_SC_PROCESS_VM_WRITEV] });
  assert.equal(pv.event.action, 'memory_write');
  assert.deepEqual(pv.ebpf.process_vm, {
    direction: 'write',
    target: { pid: 812 },
    requested_bytes: 32,
    bytes: 16,
    local_iov_count: 1,
    remote_iov_count: 2,
    remote_address: '0x7f00deadb000',
  });
  assert.equal(decode({ type: E.SE_EV_PROC_VM_WRITE, ret: -1, args: [1, 1, 1, 0, 8, S.SE_SC_PROCESS_VM_READV] }).event.action, 'memory_read');
  const pr = decode({ type: E.SE_EV_PRCTL, comm: 'kworker/0:1', args: [15, 0, 0, 0, 0, S.SE_SC_PRCTL], strs: ['kworker/0:1', 'xmrig'] });
  assert.deepEqual(pr.ebpf.prctl, { option: 15, option_name: 'PR_SET_NAME', name: 'kworker/0:1', previous_name: 'xmrig' });
  assert.equal(pr.event.action, 'name_change');
  const pg = decode({ type: E.SE_EV_SETPGID, args: [700, 600, 0, 0, 0, S.SE_SC_SETPGID] });
  assert.deepEqual(pg.ebpf.process_group, { pid: 700, pgid: 600 });
  assert.equal(pg.event.action, 'process_group_change');
  assert.equal(decode({ type: E.SE_EV_SETSID, ret: 42, args: [0, 0, 0, 0, 0, S.SE_SC_SETSID] }).event.action, 'session_id_change');
  const dm = decode({ type: E.SE_EV_MODULE, ret: -38, args: [0, 0x800, 0, 0, 0, S.SE_SC_DELETE_MODULE], strs: [null, null, 'rootkit'] });
  assert.equal(dm.event.action, 'unload_module');
  assert.equal(dm.ebpf.module?.name, 'rootkit');
  assert.equal(dm.ebpf.error, 'ENOSYS');
});

const NS = (ticks: number): string => String(BigInt(ticks) * 10_000_000n);
function ev(kind: string, pid: number, ppid: number, ticks: number, sid: number, pgid: number, extra: Record<string, unknown> = {}): SensorEvent {
  const e = fixtureEvent({ 'ebpf.kind': kind, 'process.pid': pid, 'process.parent.pid': ppid, ...extra });
  e.process.entity_id = '';
  e.process.parent = { pid: ppid };
  e.ebpf.process = { start_boot_ns: NS(ticks), parent_start_boot_ns: NS(1), sid, pgid, comm: e.process.name };
  return e;
}

test('issue-17: the process table takes setsid and setpgid at once (the next event without an exec has the new leaders), and a child moved by its parent', () => {
  const en = new Enricher({ hostId: 'h', seedFromProc: false, resolveContainers: false, resolveNames: false });
  en.enrich(ev('exec', 600, 1, 20, 500, 500, { 'process.executable': '/usr/bin/bash', 'process.args': ['bash'] }));
  en.enrich(ev('fork', 700, 600, 30, 500, 500));
  en.enrich(ev('exec', 700, 600, 30, 500, 500, { 'process.executable': '/usr/local/bin/daemon', 'process.args': ['daemon'] }));
  // The daemon detaches: setsid. The kernel's record says sid = pgid = 700 from now on.
  en.enrich(ev('setsid', 700, 600, 30, 700, 700, { 'event.outcome': 'success' }));
  // Its next event is not an exec, and comes from a record... whose sid the table must already know:
  // an event replayed without the context (sid of the record unknown) still gets the new leader.
  const next = ev('open', 700, 600, 30, 700, 700, { 'file.path': '/var/run/daemon.pid' });
  delete next.ebpf.process!.sid;
  delete next.ebpf.process!.pgid;
  en.enrich(next);
  assert.equal(next.process.session_leader?.pid, 700);
  assert.equal(next.process.session_leader?.executable, '/usr/local/bin/daemon');
  assert.equal(next.process.group_leader?.pid, 700);
  // bash puts a child (800) in a new group of its own: setpgid(800, 800) by the parent.
  en.enrich(ev('fork', 800, 600, 40, 500, 500));
  en.enrich(ev('setpgid', 600, 1, 20, 500, 500, { 'event.outcome': 'success', 'ebpf.process_group.pid': 800, 'ebpf.process_group.pgid': 0 }));
  assert.equal(en.table.get(800)?.pgid, 800, "the child's group changed by its parent's call");
  // prctl PR_SET_NAME: the table's name follows.
  en.enrich(ev('prctl', 700, 600, 30, 700, 700, { 'event.outcome': 'success', 'ebpf.prctl.name': 'kworker/0:1', 'ebpf.prctl.option_name': 'PR_SET_NAME' }));
  assert.equal(en.table.get(700)?.name, 'kworker/0:1');
});
