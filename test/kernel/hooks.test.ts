// Live kernel (issue 17 point 3, issue 18's rules on them): extended
// attributes (file capabilities decoded, labels, io_uring SETXATTR/FSETXATTR
// inline and SQPOLL), file times, process_vm_writev/readv, prctl PR_SET_NAME,
// setsid/setpgid (the process table follows at once) and delete_module
// through the raw sys_exit path — each from real syscalls of
// test/kernel/trigger.c, with the default configuration (the kernel filter
// the bundled rules compile to), and the bundled rules firing on them.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { skipReason, assertEcsValid, startSensor, trigger, triggerBinary, type LiveSensor, type Doc, WAIT_MS } from './harness.js';

const skip = skipReason();

/** struct vfs_cap_data, VFS_CAP_REVISION_2 with the effective bit: permitted = CAP_SETUID (bit 7). */
const CAP_SETUID_EP = '01000002' + '80000000' + '00000000' + '00000000' + '00000000';
const JAN_2010 = 1262304000;

describe('issue-17 hooks, live', { skip }, () => {
  let sensor: LiveSensor;
  let dir: string;
  const of = (pid: number, kind: string, extra: (d: Doc) => boolean = () => true) => (d: Doc) =>
    d.process?.pid === pid && d.ebpf?.kind === kind && extra(d);

  before(async () => {
    triggerBinary();
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'ebpf-sensor-hooks-')));
    sensor = await startSensor([]);
  });
  after(async () => {
    const code = await sensor?.stop();
    assert.equal(code, 0, sensor?.stderr());
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('setxattr of security.capability: the capability names, the ECS fields, and the rule', async () => {
    const f = join(dir, 'python3');
    writeFileSync(f, 'x');
    const r = trigger('xattr-set', 'set', f, 'security.capability', CAP_SETUID_EP);
    assert.equal(r.ret, 0);
    const ev = await sensor.waitFor(of(r.pid, 'xattr'), WAIT_MS, 'the setxattr event');
    assert.equal(ev.event.action, 'attributes_modified');
    assert.deepEqual(ev.event.category, ['file']);
    assert.deepEqual(ev.event.type, ['change']);
    assert.equal(ev.event.outcome, 'success');
    assert.equal(ev.ebpf.syscall, 'setxattr');
    assert.equal(ev.file.path, f);
    assert.equal(ev.ebpf.xattr.name, 'security.capability');
    assert.equal(ev.ebpf.xattr.namespace, 'security');
    assert.equal(ev.ebpf.xattr.value_size, 20);
    assert.deepEqual(ev.ebpf.xattr.capabilities.permitted, ['CAP_SETUID']);
    assert.equal(ev.ebpf.xattr.capabilities.effective, true);
    assert.equal(ev.ebpf.xattr.capabilities.revision, 2);
    assert.equal(ev.rule?.id, 'file_capabilities_set');
    assert.equal(ev.event.kind, 'alert');
  });

  test('fsetxattr (path from the fd), lsetxattr, removexattr: name, text value, size', async () => {
    const f = join(dir, 'tagged');
    writeFileSync(f, 'x');
    const fs = trigger('xattr-set', 'fset', f, 'user.origin', Buffer.from('https://example.org/x').toString('hex'));
    const ev = await sensor.waitFor(of(fs.pid, 'xattr'), WAIT_MS, 'fsetxattr');
    assert.equal(ev.ebpf.syscall, 'fsetxattr');
    assert.equal(ev.file.path, f);
    assert.equal(ev.ebpf.path_source, 'file');
    assert.equal(ev.ebpf.xattr.value, 'https://example.org/x');
    assert.equal(ev.ebpf.xattr.value_size, 21);
    assert.equal(ev.rule, undefined, 'a user.* tag is no alert');
    const ls = trigger('xattr-set', 'lset', f, 'user.bin', 'deadbeef00');
    const evl = await sensor.waitFor(of(ls.pid, 'xattr'), WAIT_MS, 'lsetxattr');
    assert.equal(evl.ebpf.syscall, 'lsetxattr');
    assert.equal(evl.ebpf.xattr.value_hex, 'deadbeef00');
    const rm = trigger('xattr-remove', f, 'user.nosuch');
    const evr = await sensor.waitFor(of(rm.pid, 'xattr'), WAIT_MS, 'removexattr');
    assert.equal(evr.ebpf.syscall, 'removexattr');
    assert.equal(evr.event.outcome, 'failure');
    assert.equal(evr.ebpf.error, 'ENODATA');
    assert.equal(evr.ebpf.xattr.value_size, undefined);
  });

  for (const mode of ['inline', 'sqpoll'] as const) {
    test(`io_uring SETXATTR and FSETXATTR (${mode}) are xattr events flagged with the opcode, and alert like the syscall`, async () => {
      const extra = mode === 'sqpoll' ? ['sqpoll'] : [];
      const f = join(dir, `iou-${mode}`);
      writeFileSync(f, 'x');
      const r = trigger('iou-setxattr', f, 'security.capability', CAP_SETUID_EP, ...extra);
      assert.equal(r.ret, 0, JSON.stringify(r));
      const ev = await sensor.waitFor(of(r.pid, 'xattr'), WAIT_MS, `IORING_OP_SETXATTR ${mode}`);
      assert.equal(ev.ebpf.io_uring.operation, 'IORING_OP_SETXATTR');
      assert.equal(ev.ebpf.io_uring.opcode, 42);
      assert.equal(ev.ebpf.syscall, 'setxattr');
      assert.equal(ev.event.action, 'attributes_modified');
      assert.equal(ev.file.path, f);
      assert.deepEqual(ev.ebpf.xattr.capabilities.permitted, ['CAP_SETUID']);
      assert.equal(ev.rule?.id, 'file_capabilities_set');
      const rf = trigger('iou-fsetxattr', f, 'user.k', '6869', ...extra);
      assert.equal(rf.ret, 0, JSON.stringify(rf));
      const evf = await sensor.waitFor(of(rf.pid, 'xattr'), WAIT_MS, `IORING_OP_FSETXATTR ${mode}`);
      assert.equal(evf.ebpf.io_uring.operation, 'IORING_OP_FSETXATTR');
      assert.equal(evf.ebpf.syscall, 'fsetxattr');
      assert.equal(evf.file.path, f);
      assert.equal(evf.ebpf.xattr.value, 'hi');
    });
  }

  test('utimensat, futimens, utimes, utime: the times asked for (or now), the flags, the file', async () => {
    const f = join(dir, 'stamped');
    writeFileSync(f, 'x');
    const u = trigger('utimes', 'utimensat', f, String(JAN_2010));
    const ev = await sensor.waitFor(of(u.pid, 'utimes'), WAIT_MS, 'utimensat');
    assert.equal(ev.event.action, 'attributes_modified');
    assert.equal(ev.ebpf.syscall, 'utimensat');
    assert.equal(ev.file.path, f);
    assert.equal(ev.ebpf.utimes.atime, '2010-01-01T00:00:00.000000005Z');
    assert.equal(ev.ebpf.utimes.mtime, '2010-01-01T00:00:00.000000007Z');
    assert.equal(ev.ebpf.utimes.now, false);
    assert.equal(ev.ebpf.utimes.flags, 0x100, 'AT_SYMLINK_NOFOLLOW');
    assert.equal(ev.rule, undefined, 'not a sensitive directory');
    const n = trigger('utimes', 'now', f, '0');
    const evn = await sensor.waitFor(of(n.pid, 'utimes'), WAIT_MS, 'utimensat NULL');
    assert.equal(evn.ebpf.utimes.now, true);
    assert.equal(evn.ebpf.utimes.mtime, 'now');
    const fd = trigger('utimes', 'futimens', f, String(JAN_2010));
    const evf = await sensor.waitFor(of(fd.pid, 'utimes'), WAIT_MS, 'futimens');
    assert.equal(evf.file.path, f);
    assert.equal(evf.ebpf.path_source, 'file');
    const tv = trigger('utimes', 'utimes', f, String(JAN_2010));
    const evt = await sensor.waitFor(of(tv.pid, 'utimes'), WAIT_MS, 'utimes');
    assert.equal(evt.ebpf.syscall, 'utimes');
    assert.equal(evt.ebpf.utimes.mtime, '2010-01-01T00:00:00.000004000Z', 'microseconds made nanoseconds');
    const ut = trigger('utimes', 'utime', f, String(JAN_2010));
    const evu = await sensor.waitFor(of(ut.pid, 'utimes'), WAIT_MS, 'utime');
    assert.equal(evu.ebpf.syscall, 'utime');
    assert.equal(evu.ebpf.utimes.atime, '2010-01-01T00:00:00.000000000Z');
    assert.equal(statSync(f).mtimeMs, JAN_2010 * 1000);
  });

  test('timestomping a file in a system directory alerts (private mount namespace: the host is untouched)', async () => {
    const script = ['set -e', 'mount --make-rprivate /', 'mount -t tmpfs none /usr/local/sbin', 'echo x > /usr/local/sbin/planted',
      `${triggerBinary()} utimes utimensat /usr/local/sbin/planted ${JAN_2010}`].join('\n');
    const out = execFileSync('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { pid: number; ret: number };
    assert.equal(r.ret, 0);
    const ev = await sensor.waitFor(of(r.pid, 'utimes'), WAIT_MS, 'the timestomp');
    assert.equal(ev.file.path, '/usr/local/sbin/planted');
    assert.equal(ev.rule?.id, 'file_timestomped');
    assert.equal(ev.event.severity, 47);
  });

  test('process_vm_writev into another process: target, bytes, outcome, and the rule; readv is memory_read', async () => {
    const w = trigger('pvm', 'write');
    assert.equal(w.ret, 16);
    const ev = await sensor.waitFor(of(w.pid, 'process_vm'), WAIT_MS, 'process_vm_writev');
    assert.equal(ev.event.action, 'memory_write');
    assert.equal(ev.ebpf.syscall, 'process_vm_writev');
    assert.deepEqual(ev.event.category, ['process']);
    assert.equal(ev.ebpf.process_vm.target.pid, w.target);
    assert.equal(ev.ebpf.process_vm.target.executable, triggerBinary(), 'the target (a forked child) from the process table');
    assert.ok(ev.ebpf.process_vm.target.entity_id);
    assert.equal(ev.ebpf.process_vm.bytes, 16);
    assert.equal(ev.ebpf.process_vm.requested_bytes, 16);
    assert.equal(ev.ebpf.process_vm.remote_address, w.addr);
    assert.equal(ev.rule?.id, 'process_memory_written_via_process_vm');
    const rd = trigger('pvm', 'read');
    const evr = await sensor.waitFor(of(rd.pid, 'process_vm'), WAIT_MS, 'process_vm_readv');
    assert.equal(evr.event.action, 'memory_read');
    assert.equal(evr.ebpf.process_vm.direction, 'read');
    assert.equal(evr.rule, undefined);
  });

  test('prctl PR_SET_NAME: the old and the new comm; a kernel-thread name alerts', async () => {
    const r = trigger('prctl-name', 'kworker/0:9');
    const ev = await sensor.waitFor(of(r.pid, 'prctl'), WAIT_MS, 'prctl');
    assert.equal(ev.event.action, 'name_change');
    assert.equal(ev.ebpf.prctl.option_name, 'PR_SET_NAME');
    assert.equal(ev.ebpf.prctl.name, 'kworker/0:9');
    assert.equal(ev.ebpf.prctl.previous_name, basename(triggerBinary()).slice(0, 15));
    assert.equal(ev.rule?.id, 'process_masquerades_as_kernel_thread');
  });

  test('setsid and setpgid: session_id_change / process_group_change, and the next event of the process has the new leaders without an exec', async () => {
    const m1 = join(dir, 'after-setsid');
    const s = trigger('setsid', m1);
    assert.equal(s.ret, s.pid);
    const ev = await sensor.waitFor(of(s.pid, 'setsid'), WAIT_MS, 'setsid');
    assert.equal(ev.event.action, 'session_id_change');
    assert.equal(ev.ebpf.ret, s.pid);
    const after = await sensor.waitFor(of(s.pid, 'open', (d) => d.file?.path === m1), WAIT_MS, 'the open after setsid');
    assert.equal(after.process.session_leader?.pid, s.pid, 'the session leader is the process itself at once');
    assert.equal(after.process.session_leader?.entity_id, after.process.entity_id);
    const m2 = join(dir, 'after-setpgid');
    const g = trigger('setpgid', m2);
    assert.equal(g.ret, 0);
    const evg = await sensor.waitFor(of(g.pid, 'setpgid'), WAIT_MS, 'setpgid');
    assert.equal(evg.event.action, 'process_group_change');
    assert.deepEqual(evg.ebpf.process_group, { pid: 0, pgid: 0 });
    const ag = await sensor.waitFor(of(g.pid, 'open', (d) => d.file?.path === m2), WAIT_MS, 'the open after setpgid');
    assert.equal(ag.process.group_leader?.pid, g.pid, 'the group leader is the process itself at once');
  });

  test('delete_module attempts are events with their result (ENOSYS too), through raw sys_exit where the syscall has no tracepoint, and alert', async () => {
    const r = trigger('delete-module', 'ebpf_sensor_nosuch');
    assert.ok(r.ret < 0);
    const ev = await sensor.waitFor(of(r.pid, 'module_load'), WAIT_MS, 'delete_module');
    assert.equal(ev.ebpf.syscall, 'delete_module');
    assert.equal(ev.event.action, 'unload_module');
    assert.deepEqual(ev.event.type, ['end']);
    assert.equal(ev.event.outcome, 'failure');
    assert.equal(ev.ebpf.errno, r.errno);
    assert.equal(ev.ebpf.module.name, 'ebpf_sensor_nosuch');
    assert.equal(ev.rule?.id, 'kernel_module_unloaded');
    if (!existsSync('/proc/modules')) {
      assert.equal(ev.ebpf.error, 'ENOSYS');
      assert.match(sensor.stderr(), /no tracepoint syscalls\/sys_exit_delete_module on this kernel: syscall \d+ seen through raw sys_exit/);
    }
  });

  test('every document validates against ECS 9.4', () => {
    assertEcsValid(sensor.docs());
  });
});
