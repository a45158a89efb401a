// Live kernel: every event kind, triggered by a real syscall from a test
// program (test/kernel/trigger.c), decoded and asserted field by field.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, realpathSync, symlinkSync, chmodSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import { skipReason, assertEcsValid, startSensor, trigger, triggerBinary, type LiveSensor, type Doc, WAIT_MS } from './harness.js';

const skip = skipReason();

describe('live kernel events', { skip }, () => {
  let sensor: LiveSensor;
  let dir: string;
  const byPid = (pid: number, action: string) => (d: Doc) => d.process?.pid === pid && d.ebpf?.syscall === action;
  /** The program's own event on `path` (the dynamic loader's opens come first). */
  const onPath = (pid: number, action: string, path: string) => (d: Doc) =>
    d.process?.pid === pid && d.ebpf?.syscall === action && d.file?.path === path;
  const onDir = (pid: number, action: string) => (d: Doc) =>
    d.process?.pid === pid && d.ebpf?.syscall === action && typeof d.file?.path === 'string' && d.file.path.startsWith(dir);

  before(async () => {
    triggerBinary();
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'ebpf-sensor-ev-')));
    // Every read-only open too (telemetry.openReads): the path tests open files for reading.
    sensor = await startSensor([], { EBPF_SENSOR_TELEMETRY__OPENREADS: 'true' });
  });
  after(async () => {
    const code = await sensor?.stop();
    assert.equal(code, 0, sensor?.stderr());
  });

  test('exec: success with argv and cwd; failure with errno and the attempted file', async () => {
    const r = trigger('execve-fail', join(dir, 'no-such-binary'));
    const fail = await sensor.waitFor((d) => byPid(r.pid, 'execve')(d) && d.event.outcome === 'failure', WAIT_MS, 'failed execve');
    assert.equal(fail.event.outcome, 'failure');
    assert.equal(fail.ebpf.error, 'ENOENT');
    assert.equal(fail.file.path, join(dir, 'no-such-binary'));
    assert.deepEqual(fail.ebpf.exec.args, [join(dir, 'no-such-binary'), '--marker']);
    // the successful exec of the trigger itself
    const ok = await sensor.waitFor((d) => d.process?.pid === r.pid && d.ebpf?.syscall === 'execve' && d.event.outcome === 'success');
    assert.equal(ok.process.executable, triggerBinary());
    assert.equal(ok.process.args[1], 'execve-fail');
  });

  test('fork and exit: child pid, parent, exit code', async () => {
    const r = trigger('fork-exit', '7');
    const child = r.child as number;
    const fork = await sensor.waitFor((d) => d.ebpf?.syscall === 'fork' && d.process?.pid === child, WAIT_MS, 'fork');
    assert.equal(fork.process.parent.pid, r.pid);
    assert.equal(fork.process.executable, triggerBinary(), 'the child inherits the parent image');
    const exit = await sensor.waitFor((d) => d.ebpf?.syscall === 'exit' && d.process?.pid === child, WAIT_MS, 'exit');
    assert.equal(exit.process.exit_code, 7);
    assert.equal(exit.process.entity_id, fork.process.entity_id, 'same entity id from fork to exit');
  });

  test('open family: flags, mode, intent, result, kernel-resolved path', async () => {
    const f = join(dir, 'opened.txt');
    const c = trigger('creat', f);
    const creat = await sensor.waitFor(byPid(c.pid, 'creat'));
    assert.equal(creat.file.path, f);
    assert.equal(creat.ebpf.ret, c.ret);
    assert.deepEqual(creat.ebpf.open.intent, ['write', 'create', 'truncate']);
    assert.equal(creat.ebpf.open.mode, '0640');
    assert.equal(creat.process.user.id, '0');
    const o2 = trigger('openat2', f, '2');
    const ev2 = await sensor.waitFor(byPid(o2.pid, 'openat2'));
    assert.equal(ev2.event.outcome, 'success');
    assert.deepEqual(ev2.ebpf.open.flag_names, ['O_RDWR']);
    assert.equal(ev2.file.path, f);
    const o = trigger('open', f, '1101'); // O_TRUNC | O_CREAT | O_WRONLY
    const ev = await sensor.waitFor(onPath(o.pid, 'open', f));
    assert.equal(ev.ebpf.open.flags, 0o1101);
    assert.ok(ev.ebpf.open.intent.includes('truncate'));
    assert.equal(ev.file.inode, String(statSync(f).ino));
  });

  test('unlink, unlinkat, rmdir', async () => {
    const f = join(dir, 'gone.txt');
    writeFileSync(f, 'x');
    const u = trigger('unlink', f);
    const ev = await sensor.waitFor(byPid(u.pid, 'unlink'));
    assert.equal(ev.file.path, f);
    assert.equal(ev.event.outcome, 'success');
    mkdirSync(join(dir, 'sub'));
    const d = trigger('unlinkat', dir, 'sub', 'rmdir');
    const evd = await sensor.waitFor(byPid(d.pid, 'unlinkat'));
    assert.equal(evd.file.path, join(dir, 'sub'));
    assert.equal(evd.file.type, 'dir');
    mkdirSync(join(dir, 'sub2'));
    const rd = trigger('rmdir', join(dir, 'sub2'));
    assert.equal((await sensor.waitFor(byPid(rd.pid, 'rmdir'))).file.path, join(dir, 'sub2'));
    const miss = trigger('unlink', join(dir, 'never-existed'));
    const evm = await sensor.waitFor(byPid(miss.pid, 'unlink'));
    assert.equal(evm.event.outcome, 'failure');
    assert.equal(evm.ebpf.error, 'ENOENT');
  });

  test('rename and renameat2 carry both paths', async () => {
    writeFileSync(join(dir, 'r1'), 'x');
    const r = trigger('rename', join(dir, 'r1'), join(dir, 'r2'));
    const ev = await sensor.waitFor(byPid(r.pid, 'rename'));
    assert.equal(ev.ebpf.source_file.path, join(dir, 'r1'));
    assert.equal(ev.file.path, join(dir, 'r2'));
    const r2 = trigger('renameat2', dir, 'r2', 'r3');
    const ev2 = await sensor.waitFor(byPid(r2.pid, 'renameat2'));
    assert.equal(ev2.ebpf.source_file.path, join(dir, 'r2'));
    assert.equal(ev2.file.path, join(dir, 'r3'));
  });

  test('chmod family and chown family', async () => {
    const f = join(dir, 'perm.txt');
    writeFileSync(f, 'x');
    const a = trigger('chmod', f, '4755');
    const ev = await sensor.waitFor(byPid(a.pid, 'chmod'));
    assert.equal(ev.file.mode, '4755');
    assert.equal(ev.file.path, f);
    const b = trigger('fchmod', f, '600');
    const evb = await sensor.waitFor(byPid(b.pid, 'fchmod'));
    assert.equal(evb.file.path, f);
    assert.equal(evb.ebpf.path_source, 'file');
    const c = trigger('fchmodat', dir, 'perm.txt', '640');
    assert.equal((await sensor.waitFor(byPid(c.pid, 'fchmodat'))).file.path, f);
    const d = trigger('chown', f, '1', '2');
    const evd = await sensor.waitFor(byPid(d.pid, 'chown'));
    assert.equal(evd.file.uid, '1');
    assert.equal(evd.file.gid, '2');
    const e = trigger('fchown', f, '0', '0');
    assert.equal((await sensor.waitFor(byPid(e.pid, 'fchown'))).file.path, f);
  });

  test('link and symlink', async () => {
    const f = join(dir, 'target.txt');
    writeFileSync(f, 'x');
    const l = trigger('link', f, join(dir, 'hard'));
    const ev = await sensor.waitFor(byPid(l.pid, 'link'));
    assert.equal(ev.file.path, join(dir, 'hard'));
    assert.equal(ev.ebpf.source_file.path, f);
    const s = trigger('symlink', '../x/target.txt', join(dir, 'soft'));
    const evs = await sensor.waitFor(byPid(s.pid, 'symlink'));
    assert.equal(evs.file.path, join(dir, 'soft'));
    assert.equal(evs.file.target_path, '../x/target.txt', 'the target is kept verbatim');
  });

  test('truncate, ftruncate, mkdir', async () => {
    const f = join(dir, 'trunc.txt');
    writeFileSync(f, 'xxxx');
    const t = trigger('truncate', f, '1');
    assert.equal((await sensor.waitFor(byPid(t.pid, 'truncate'))).file.path, f);
    const ft = trigger('ftruncate', f, '0');
    const evf = await sensor.waitFor(byPid(ft.pid, 'ftruncate'));
    assert.equal(evf.file.path, f);
    assert.equal(evf.ebpf.path_source, 'file');
    const m = trigger('mkdir', join(dir, 'newdir'));
    const evm = await sensor.waitFor(byPid(m.pid, 'mkdir'));
    assert.equal(evm.file.path, join(dir, 'newdir'));
    assert.equal(evm.file.mode, '0750');
  });

  test('setuid, setresuid, setgid: requested ids and result', async () => {
    const a = trigger('setuid', '0');
    const ev = await sensor.waitFor(byPid(a.pid, 'setuid'));
    assert.deepEqual(ev.ebpf.ids.requested, [0]);
    assert.equal(ev.event.outcome, 'success');
    const b = trigger('setresuid', '0', '0', '0');
    assert.deepEqual((await sensor.waitFor(byPid(b.pid, 'setresuid'))).ebpf.ids.requested, [0, 0, 0]);
    const c = trigger('setgid', '0');
    assert.deepEqual((await sensor.waitFor(byPid(c.pid, 'setgid'))).ebpf.ids.requested, [0]);
  });

  test('ptrace attach names the target', async () => {
    const r = trigger('ptrace');
    const ev = await sensor.waitFor(byPid(r.pid, 'ptrace'));
    assert.equal(ev.ebpf.ptrace.request_name, 'PTRACE_ATTACH');
    assert.equal(ev.ebpf.ptrace.target_pid, r.target);
  });

  test('issue-17: module load attempts are reported with their result, through raw sys_exit where the syscall has no tracepoint, and alert', async () => {
    const modulesSupported = existsSync('/proc/modules');
    const r = trigger('init-module');
    const ev = await sensor.waitFor(byPid(r.pid, 'init_module'));
    assert.equal(ev.event.outcome, 'failure');
    assert.equal(ev.ebpf.module.params, 'param=1');
    assert.equal(ev.rule?.id, 'kernel_module_loaded', 'the bundled module rule fires on an attempt');
    if (!modulesSupported) {
      // CONFIG_MODULES=n: init_module answers ENOSYS and has no tracepoint of its own.
      assert.equal(r.errno, 38);
      assert.equal(ev.ebpf.error, 'ENOSYS');
      assert.match(sensor.stderr(), /no tracepoint syscalls\/sys_exit_init_module on this kernel: syscall \d+ seen through raw sys_exit/);
    }
  });

  test('issue-17: opening /proc/PID/mem for writing is an open with the resolved path and alerts', async () => {
    const r = trigger('open', '/proc/self/mem', '2');
    const ev = await sensor.waitFor((d: Doc) => d.process?.pid === r.pid && d.file?.path === `/proc/${r.pid}/mem`, 15000, 'the /proc/PID/mem open');
    assert.equal(ev.event.outcome, 'success');
    assert.ok(ev.ebpf.open.intent.includes('write'));
    assert.equal(ev.rule?.id, 'process_memory_written_via_proc');
  });

  test('bpf: program loads and map creations by other processes', async () => {
    const p = trigger('bpf-prog', 'evil_prog');
    const ev = await sensor.waitFor(byPid(p.pid, 'bpf'));
    assert.equal(ev.ebpf.bpf.cmd_name, 'BPF_PROG_LOAD');
    assert.equal(ev.ebpf.bpf.name, 'evil_prog');
    assert.equal(ev.ebpf.bpf.insn_cnt, 2);
    assert.equal(ev.ebpf.bpf.prog_type, 1);
    const m = trigger('bpf-map');
    const evm = await sensor.waitFor(byPid(m.pid, 'bpf'));
    assert.equal(evm.ebpf.bpf.cmd_name, 'BPF_MAP_CREATE');
    assert.equal(evm.ebpf.bpf.name, 'trigger_map');
  });

  test('mount and umount in a private mount namespace; unshare, setns', async () => {
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    const r = trigger('mount', mnt);
    const ev = await sensor.waitFor((d) => d.process?.pid === r.pid && d.ebpf?.syscall === 'mount' && d.ebpf.mount?.fstype === 'tmpfs');
    assert.equal(ev.ebpf.mount.target, mnt);
    assert.equal(ev.ebpf.mount.source, 'trigger-src');
    const um = await sensor.waitFor(byPid(r.pid, 'umount2'));
    assert.equal(um.file.path, mnt);
    const un = await sensor.waitFor(byPid(r.pid, 'unshare'));
    assert.ok(un.ebpf.namespaces.names.includes('CLONE_NEWNS'));
    const s = trigger('setns');
    const evs = await sensor.waitFor(byPid(s.pid, 'setns'));
    assert.match(evs.ebpf.namespaces.path, /^mnt:\[\d+\]$/);
  });

  test('memfd_create reports the memfd name and its kernel path', async () => {
    const r = trigger('memfd', 'payload');
    const ev = await sensor.waitFor(byPid(r.pid, 'memfd_create'));
    assert.equal(ev.ebpf.memfd.name, 'payload');
    assert.match(ev.file.path, /^\/memfd:payload/);
    assert.equal(ev.ebpf.ret, r.ret);
  });

  test('capset: the sets requested', async () => {
    const r = trigger('capset');
    const ev = await sensor.waitFor(byPid(r.pid, 'capset'));
    const eff = BigInt(ev.ebpf.capabilities.effective);
    assert.equal(eff & (1n << 16n), 0n, 'CAP_SYS_MODULE dropped from the effective set');
  });

  for (const v of ['tcp4', 'tcp6'] as const) {
    test(`${v}: bind, listen, connect, accept with addresses and ports`, async () => {
      const r = trigger(v);
      const lo = v === 'tcp4' ? '127.0.0.1' : '::1';
      const listen = await sensor.waitFor(byPid(r.pid, 'listen'));
      assert.equal(listen.source.ip, lo);
      assert.equal(listen.source.port, r.port);
      assert.equal(listen.network.transport, 'tcp');
      const conn = await sensor.waitFor(byPid(r.pid, 'connect'));
      assert.equal(conn.destination.ip, lo);
      assert.equal(conn.destination.port, r.port);
      assert.equal(conn.source.port, r.client_port);
      assert.equal(conn.network.type, v === 'tcp4' ? 'ipv4' : 'ipv6');
      const acc = await sensor.waitFor(byPid(r.pid, 'accept4'));
      assert.equal(acc.source.port, r.client_port, 'accept: the peer is the source');
      assert.equal(acc.destination.port, r.port);
      assert.equal(acc.ebpf.ret, r.accepted);
      const bind = await sensor.waitFor(byPid(r.pid, 'bind'));
      assert.equal(bind.source.ip, lo);
    });
  }

  test('unix sockets: bind, connect, accept with the path', async () => {
    const p = join(dir, 'ctl.sock');
    const r = trigger('unix', p);
    const conn = await sensor.waitFor((d) => byPid(r.pid, 'connect')(d) && d.destination?.address === p);
    assert.equal(conn.ebpf.socket.family, 'unix');
    assert.equal(conn.ebpf.socket.path, p);
    const acc = await sensor.waitFor(byPid(r.pid, 'accept'));
    assert.equal(acc.destination.address, p);
  });

  test('a refused connect is a failure event with errno', async () => {
    const r = trigger('connect-refused');
    const ev = await sensor.waitFor(byPid(r.pid, 'connect'));
    assert.equal(ev.event.outcome, 'failure');
    assert.equal(ev.ebpf.error, 'ECONNREFUSED');
    assert.equal(ev.destination.port, 1);
  });

  test('path: relative open after chdir, openat with a dirfd, symlink, dot forms', async () => {
    const sub = join(dir, 'a', 'b');
    mkdirSync(sub, { recursive: true });
    const f = join(sub, 'file.txt');
    writeFileSync(f, 'x');
    const rel = trigger('openat-cwd', join(dir, 'a'), './b/../b/./file.txt', '1');
    const evr = await sensor.waitFor(onDir(rel.pid, 'openat'));
    assert.equal(evr.file.path, f);
    assert.equal(evr.ebpf.requested.path, './b/../b/./file.txt');
    const at = trigger('openat', sub, 'file.txt', '1');
    const eva = await sensor.waitFor((d) => onDir(at.pid, 'openat')(d) && d.ebpf.open.intent.includes('write'));
    assert.equal(eva.file.path, f);
    symlinkSync(f, join(dir, 'link-to-file'));
    const sl = trigger('open', join(dir, 'link-to-file'), '1');
    const evs = await sensor.waitFor(onDir(sl.pid, 'open'));
    assert.equal(evs.file.path, f, 'the symlink resolves to its target');
    assert.equal(evs.ebpf.requested.path, join(dir, 'link-to-file'));
    const dots = trigger('open', `${dir}/a/./b/../b/file.txt`, '1');
    assert.equal((await sensor.waitFor(onDir(dots.pid, 'open'))).file.path, f);
  });

  test('path: failed opens (ENOENT, EACCES as nobody) resolve the caller string', async () => {
    const miss = trigger('openat-cwd', dir, 'x/../missing.txt', '0');
    const evm = await sensor.waitFor(onDir(miss.pid, 'openat'));
    assert.equal(evm.event.outcome, 'failure');
    assert.equal(evm.ebpf.error, 'ENOENT');
    assert.equal(evm.file.path, join(dir, 'missing.txt'));
    const secret = join(dir, 'secret');
    writeFileSync(secret, 's');
    chmodSync(secret, 0o600);
    chmodSync(dir, 0o755);
    const r = trigger('drop-open', '65534', secret);
    const ev = await sensor.waitFor(onPath(r.pid, 'openat', secret));
    assert.equal(ev.event.outcome, 'failure');
    assert.equal(ev.ebpf.error, 'EACCES');
    assert.equal(ev.file.path, secret);
    assert.equal(ev.process.user.id, '65534');
    assert.equal(ev.process.real_user?.id ?? ev.process.user.id, '65534', 'real uid (written only where it differs)');
  });

  test('path: longer than 4096 bytes is marked truncated and keeps the leaf side', async () => {
    const r = trigger('open-deep', dir, '25'); // 25 x 201 bytes
    const ev = await sensor.waitFor((d) => byPid(r.pid, 'openat')(d) && d.file?.name === 'leaf.txt', WAIT_MS);
    assert.equal(ev.event.outcome, 'success');
    assert.ok(ev.ebpf.truncated?.includes('file.path'), 'file.path flagged truncated');
    assert.ok(ev.file.path.endsWith('/leaf.txt'));
    assert.ok(Buffer.byteLength(ev.file.path) <= 4096);
  });

  test('path: a second thread rewriting the path buffer cannot fool the report', async () => {
    const a = join(dir, 'real.txt');
    const b = join(dir, 'decoy.txt');
    writeFileSync(a, 'a');
    writeFileSync(b, 'b');
    const r = trigger('open-race', a, b, '400');
    const opened = (r.opened_a as number) + (r.opened_b as number);
    await sensor.waitFor((d) => d.process?.pid === r.pid && d.ebpf?.syscall === 'exit', WAIT_MS, 'trigger exit');
    const evs = sensor.docs().filter((d) => d.process?.pid === r.pid && d.ebpf?.syscall === 'openat' && d.event.outcome === 'success' && [a, b].includes(d.file.path));
    assert.equal(evs.length, opened, 'one event per successful open');
    assert.equal(evs.filter((d) => d.file.path === a).length, r.opened_a, 'every open of the real file reported as the real file');
    assert.equal(evs.filter((d) => d.file.path === b).length, r.opened_b);
  });

  test('argument tampering between entry and exit is its own event (deterministic, userfaultfd)', async () => {
    // rename(OLD, NEW) with NEW on a missing userfaultfd page: the syscall
    // blocks mid-way; the fault handler rewrites OLD, then supplies NEW.
    const before = join(dir, 'innocent.txt');
    const afterName = join(dir, 'payload.txt');
    writeFileSync(before, 'x');
    writeFileSync(afterName, 'y');
    const r = trigger('tamper-uffd', before, afterName, join(dir, 'renamed.txt'));
    const ev = await sensor.waitFor((d) => d.process?.pid === r.pid && d.ebpf?.kind === 'tamper', WAIT_MS, 'tamper event');
    assert.equal(ev.ebpf.tampering.syscall, 'rename');
    assert.equal(ev.ebpf.tampering.at_entry, before);
    assert.equal(ev.ebpf.tampering.at_exit, afterName);
    const rename = await sensor.waitFor(byPid(r.pid, 'rename'));
    assert.ok(rename.ebpf.tampering, 'the rename event itself is flagged');
  });

  test('argument tampering by a racing thread is caught when the copies differ', async () => {
    // Probabilistic companion of the test above: a second thread flips an
    // unlink argument; whenever the sensor's entry and exit copies differ,
    // a tamper event must name both strings.
    const a = join(dir, 'tamper-a');
    const b = join(dir, 'tamper-b');
    let ev: Doc | undefined;
    for (let round = 0; round < 10 && !ev; round++) {
      const r = trigger('unlink-race', a, b, '3000');
      await sensor.waitFor((d) => d.process?.pid === r.pid && d.ebpf?.syscall === 'exit', WAIT_MS, 'trigger exit');
      ev = sensor.docs().find((d) => d.process?.pid === r.pid && d.ebpf?.kind === 'tamper');
    }
    if (!ev) return; // the scheduler never interleaved them inside a syscall: nothing to check
    assert.equal(ev.ebpf.tampering.syscall, 'unlink');
    assert.notEqual(ev.ebpf.tampering.at_entry, ev.ebpf.tampering.at_exit);
    assert.ok([a, b].includes(ev.ebpf.tampering.at_entry));
  });

  test('every document has a unique event id (no duplicates within a run)', async () => {
    const ids = sensor.docs().map((d) => d.event?.id as string);
    const dup = ids.filter((id, i) => ids.indexOf(id) !== i);
    assert.deepEqual(dup.slice(0, 5), []);
  });

  test('every document the live sensor wrote validates against ECS 9.4', () => {
    assertEcsValid(sensor.docs());
  });

  test('the sensor does not report its own activity (issue-12: its loss reports are not activity)', async () => {
    const own = sensor.proc.pid!;
    // Make the sensor work: SIGHUP reloads the rules, reading every rule file
    // (read-only opens are reported in this run), also on its libuv threads.
    const ruleFile = join(packageRoot, 'rules', '00-base.yaml');
    const reloads = (): number => (sensor.stderr().match(/SIGHUP/g) ?? []).length;
    const before = reloads();
    sensor.proc.kill('SIGHUP');
    await until(() => reloads() > before, 'the rule reload after SIGHUP');
    // The same read by another process is reported: the sensor's would be too, were it not ignored.
    const cat = spawnSync('cat', [ruleFile], { stdio: 'ignore' });
    await sensor.waitFor((d) => d.process?.pid === cat.pid && d.file?.path === ruleFile, WAIT_MS, 'the read of a rule file by cat');
    await sensor.caughtUp();
    const mine = sensor.docs().filter((d) => d.process?.pid === own || d.process?.thread?.id === own);
    // The one thing the sensor says about itself: its loss report (event.kind
    // metric, ebpf.kind loss) names the sensor as its process. A loaded machine
    // makes the ring overflow during this suite, so one may be here.
    for (const d of mine.filter((x) => x.ebpf?.kind === 'loss')) assert.equal(d.event.kind, 'metric');
    const activity = mine.filter((d) => d.ebpf?.kind !== 'loss');
    assert.deepEqual(
      activity.slice(0, 5).map((d) => `${d.event?.action} ${d.file?.path ?? ''} tid ${d.process?.thread?.id}`),
      [],
      `${activity.length} documents of the sensor's own activity`,
    );
  });
});

/** Wait for a condition under the harness's deadline. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${WAIT_MS} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
