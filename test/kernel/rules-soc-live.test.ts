// Live (issue 18): the bundled rules SOCs expect — account tools, PAM,
// sshd_config, ld.so.conf, udev, at jobs, security tooling configuration,
// bind mounts of host paths, the container API socket, hardening tunables,
// curl | sh, a deleted binary executed, /proc/PID/mem, security tooling
// stopped — each fire on the real behaviour. One sensor start. Files are
// written in a private mount namespace over a copy of /etc and tmpfs mounts,
// so the host is never changed; the one host write (randomize_va_space)
// writes back the value it read.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipReason, startSensor, type Doc, type LiveSensor } from './harness.js';

const skip = skipReason();

function ruleIds(d: Doc): string[] {
  return (d.ebpf?.rules ?? []).map((r: { id: string }) => r.id).concat(d.rule?.id ? [d.rule.id] : []);
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; pid: number; stderr: string }> {
  return new Promise((res) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => c.kill('SIGKILL'), 60000);
    c.on('exit', (code) => {
      clearTimeout(t);
      res({ code, pid: c.pid!, stderr });
    });
  });
}

describe('bundled SOC rules, live', { skip }, () => {
  let sensor: LiveSensor;
  let dir: string;

  before(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'ebpf-sensor-soc-')));
    chmodSync(dir, 0o755);
    sensor = await startSensor([]);
  });
  after(async () => {
    const code = await sensor?.stop();
    assert.equal(code, 0, sensor?.stderr());
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('each rule fires on its behaviour, with its severity', async () => {
    // File writes in a private mount namespace: /etc is a copy, spools and
    // module directories are tmpfs. set -e: every step must succeed.
    const etc = join(dir, 'etc');
    const view = join(dir, 'rootview');
    mkdirSync(view);
    const script = join(dir, 'ns.sh');
    writeFileSync(
      script,
      [
        'set -e',
        'mount --make-rprivate /',
        `cp -a /etc ${etc}`,
        `mount --bind ${etc} /etc`,
        'useradd -M -N ebpfsensortest',
        'echo "# ebpf-sensor test" >> /etc/pam.d/common-auth',
        'mkdir -p /etc/ssh && echo "# ebpf-sensor test" >> /etc/ssh/sshd_config',
        'echo /opt/ebpf-sensor-test/lib > /etc/ld.so.conf.d/ebpf-sensor-test.conf',
        'mkdir -p /etc/udev/rules.d && echo "# ebpf-sensor test" > /etc/udev/rules.d/99-ebpf-sensor-test.rules',
        'mkdir -p /etc/audit && echo "# ebpf-sensor test" > /etc/audit/audit.rules',
        'mount -t tmpfs none /var/spool && mkdir -p /var/spool/cron/atjobs && echo "echo hi" > /var/spool/cron/atjobs/a0000101ebpf',
        'mount -t tmpfs none /usr/lib/x86_64-linux-gnu/security && echo x > /usr/lib/x86_64-linux-gnu/security/pam_ebpf_test.so',
        `mount --bind / ${view}`,
        'mount -t tmpfs none /run',
        `python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.bind('/run/docker.sock'); s.listen(1); c=socket.socket(socket.AF_UNIX); c.connect('/run/docker.sock')"`,
      ].join('\n'),
    );
    const ns = await run('unshare', ['-m', 'sh', script]);
    assert.equal(ns.code, 0, ns.stderr);

    // On the host: harmless by construction.
    const aslr = await run('sh', ['-c', 'v=$(cat /proc/sys/kernel/randomize_va_space) && echo "$v" > /proc/sys/kernel/randomize_va_space']);
    assert.equal(aslr.code, 0, aslr.stderr);
    const pipe = await run('sh', ['-c', 'curl -s file:///dev/null | sh']);
    assert.equal(pipe.code, 0, pipe.stderr);
    const payload = join(dir, 'payload');
    copyFileSync('/bin/true', payload);
    chmodSync(payload, 0o755);
    const deleted = await run('python3', ['-c', `import os; fd=os.open(${JSON.stringify(payload)}, os.O_RDONLY); os.unlink(${JSON.stringify(payload)}); os.execve(fd, ["payload"], {})`]);
    assert.equal(deleted.code, 0, deleted.stderr);
    const mem = await run('python3', ['-c', 'open("/proc/self/mem", "r+b").close()']);
    assert.equal(mem.code, 0, mem.stderr);
    const stop = await run('systemctl', ['stop', 'falco']); // not installed: the command fails, the attempt is the event
    assert.ok(stop.pid);

    const expected: Array<[string, string, (d: Doc) => boolean]> = [
      ['account_created_by_tool', 'low', (d) => d.file?.path === '/etc/passwd' && d.process?.name === 'useradd'],
      ['pam_config_modified', 'medium', (d) => d.file?.path === '/etc/pam.d/common-auth'],
      ['pam_config_modified', 'medium', (d) => d.file?.path === '/usr/lib/x86_64-linux-gnu/security/pam_ebpf_test.so'],
      ['sshd_config_modified', 'medium', (d) => d.file?.path === '/etc/ssh/sshd_config'],
      ['ld_so_conf_modified', 'medium', (d) => d.file?.path === '/etc/ld.so.conf.d/ebpf-sensor-test.conf'],
      ['udev_rule_modified', 'medium', (d) => d.file?.path === '/etc/udev/rules.d/99-ebpf-sensor-test.rules'],
      ['security_tool_config_modified', 'medium', (d) => d.file?.path === '/etc/audit/audit.rules'],
      ['at_job_created', 'medium', (d) => d.file?.path === '/var/spool/cron/atjobs/a0000101ebpf'],
      ['bind_mount_host_path', 'medium', (d) => d.ebpf?.mount?.source === '/' && d.ebpf?.mount?.target === view],
      ['container_api_socket_client', 'medium', (d) => d.ebpf?.socket?.path === '/run/docker.sock'],
      ['kernel_hardening_tunable_written', 'medium', (d) => d.file?.path === '/proc/sys/kernel/randomize_va_space'],
      ['download_piped_to_shell', 'high', (d) => d.process?.pid === pipe.pid],
      ['exec_deleted_binary', 'high', (d) => d.process?.pid === deleted.pid && d.process?.executable === payload],
      ['process_memory_written_via_proc', 'high', (d) => d.process?.pid === mem.pid && d.file?.path === `/proc/${mem.pid}/mem`],
      ['security_tool_stopped', 'high', (d) => d.process?.pid === stop.pid],
    ];
    const missed: string[] = [];
    for (const [rule, severity, pred] of expected) {
      try {
        const a = await sensor.waitFor((d) => d.event?.kind === 'alert' && ruleIds(d).includes(rule) && pred(d), missed.length ? 3000 : 15000, `${rule} alert`);
        // Several matches: each rule's severity is listed; one match: event.severity is its ECS score.
        const m = (a.ebpf?.rules ?? []).find((r: { id: string }) => r.id === rule) as { severity: string } | undefined;
        const got = m ? m.severity : ({ 21: 'low', 47: 'medium', 73: 'high', 99: 'critical' } as Record<number, string>)[a.event.severity as number];
        assert.equal(got, severity, rule);
      } catch (e) {
        missed.push(`${rule}: ${(e as Error).message}`);
      }
    }
    assert.deepEqual(missed, []);
  });
});
