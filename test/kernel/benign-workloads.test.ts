// Live (issue 18): quiet on normal work. The bundled rules watch a suite of
// ordinary work — package queries, a package install and removal, a C build
// and its program run in a /tmp build tree, git, a Python venv with pip,
// tar, logrotate's file operations, the distro's dpkg cron job and a
// cron-like detached job, an interactive shell over a pty — and raise no
// alert of medium or higher. The low alerts are counted per rule and must
// equal the table in docs/rules.md (between the benign-counts markers), so a
// rule change that adds noise shows up as a failing test and a doc change.
// The workload runs in a cgroup of its own: its events are told from the
// rest of the machine's by ebpf.process.cgroup_id (the cgroup directory's
// inode), and the sensor writes alerts only (the machine is busy).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipReason, startSensor, type Doc, type LiveSensor } from './harness.js';
import { packageRoot } from '../../src/sources/kernel/paths.js';

const skip = skipReason();

function ruleIds(d: Doc): string[] {
  return (d.ebpf?.rules ?? []).map((r: { id: string }) => r.id).concat(d.rule?.id ? [d.rule.id] : []);
}

/** Each matched rule with its severity (several matches list theirs; one match: event.severity's score). */
function matches(d: Doc): Array<{ id: string; severity: string }> {
  if (Array.isArray(d.ebpf?.rules)) return d.ebpf.rules as Array<{ id: string; severity: string }>;
  const sev = ({ 21: 'low', 47: 'medium', 73: 'high', 99: 'critical' } as Record<number, string>)[d.event?.severity as number] ?? 'unknown';
  return ruleIds(d).map((id) => ({ id, severity: sev }));
}

/** The documented low-alert counts: rows "| rule | n |" between the markers in docs/rules.md. */
function documentedCounts(): Map<string, number> {
  const doc = readFileSync(join(packageRoot, 'docs/rules.md'), 'utf8');
  const m = /<!-- benign-counts:start -->([\s\S]*?)<!-- benign-counts:end -->/.exec(doc);
  assert.ok(m, 'docs/rules.md has the benign-counts table');
  const out = new Map<string, number>();
  for (const row of m[1]!.matchAll(/^\|\s*`?([a-z0-9_]+)`?\s*\|\s*(\d+)\s*\|/gm)) out.set(row[1]!, Number(row[2]));
  return out;
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; pid: number; stderr: string }> {
  return new Promise((res) => {
    const c = spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', HOME: cwd } });
    let stderr = '';
    c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => c.kill('SIGKILL'), 240000);
    c.on('exit', (code) => {
      clearTimeout(t);
      res({ code, pid: c.pid!, stderr });
    });
  });
}

describe('benign workload suite, live', { skip }, () => {
  let sensor: LiveSensor;
  let dir: string;
  let cgroup: string;
  const SENTINEL = `ebpf-sensor-benign-sentinel-${process.pid}`;

  before(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'ebpf-sensor-benign-')));
    chmodSync(dir, 0o755);
    const root = existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';
    cgroup = join(root, `ebpf-sensor-benign-${process.pid}`);
    mkdirSync(cgroup);
    // The end of the workload: an alert the test waits for, then ignores.
    const site = join(dir, 'sentinel.yaml');
    writeFileSync(
      site,
      `- rule: benign_suite_sentinel\n  desc: End of the benign workload (test).\n  condition: ebpf.kind = exec and process.args = ${SENTINEL}\n  output: sentinel\n  severity: low\n`,
      { mode: 0o600 },
    );
    sensor = await startSensor(['--rules', site, '--events', 'alerts']);
  });
  after(async () => {
    const code = await sensor?.stop();
    assert.equal(code, 0, sensor?.stderr());
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (cgroup && existsSync(cgroup)) rmdirSync(cgroup);
  });

  test('ordinary work raises no alert of medium or above; the low ones are the documented counts', async () => {
    const w = join(dir, 'work');
    mkdirSync(join(w, 'build'), { recursive: true });
    writeFileSync(join(w, 'build/hello.c'), '#include <stdio.h>\nint main(void){puts("hi");return 0;}\n');
    writeFileSync(join(w, 'build/Makefile'), 'hello: hello.c\n\tcc -O2 -o hello hello.c\n');
    const pkg = join(w, 'pkg');
    mkdirSync(join(pkg, 'DEBIAN'), { recursive: true });
    mkdirSync(join(pkg, 'usr/share/doc/ebpf-sensor-benign'), { recursive: true });
    writeFileSync(join(pkg, 'DEBIAN/control'), 'Package: ebpf-sensor-benign\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: test\n');
    writeFileSync(join(pkg, 'DEBIAN/postinst'), '#!/bin/sh\nset -e\nldconfig\nexit 0\n', { mode: 0o755 });
    writeFileSync(join(pkg, 'usr/share/doc/ebpf-sensor-benign/README'), 'x\n');
    writeFileSync(join(w, 'job.sh'), '#!/bin/sh\ndate >/dev/null\nfind "$(dirname "$0")/build" -name "*.o" -mtime +7 -delete\ndf -h / >/dev/null\n', { mode: 0o755 });
    mkdirSync(join(w, 'log'));
    writeFileSync(join(w, 'log/app.log'), 'line\n'.repeat(1000));
    const script = join(w, 'workload.sh');
    writeFileSync(
      script,
      [
        'set -e',
        `echo $$ > ${cgroup}/cgroup.procs`,
        `W=${w}`,
        '# package queries',
        'dpkg -l >/dev/null',
        'dpkg -S /bin/ls >/dev/null',
        "dpkg-query -W -f='${Package} ${Version}\\n' bash coreutils >/dev/null",
        'apt-cache policy bash >/dev/null',
        '# a package installed and removed (maintainer script runs ldconfig)',
        'dpkg-deb --build $W/pkg $W/benign.deb >/dev/null',
        'dpkg -i $W/benign.deb >/dev/null',
        'dpkg -r ebpf-sensor-benign >/dev/null',
        '# compile and run in a /tmp build tree',
        'make -s -C $W/build',
        '$W/build/hello >/dev/null',
        '# git',
        'git init -q $W/repo',
        'cp $W/build/hello.c $W/repo/',
        'git -C $W/repo add hello.c',
        'git -C $W/repo -c user.name=t -c user.email=t@example.org commit -q -m init',
        'git clone -q $W/repo $W/clone',
        'git -C $W/clone log --oneline >/dev/null',
        'git -C $W/clone status --short >/dev/null',
        '# a python venv with pip',
        '/usr/bin/python3 -m venv $W/venv',
        "$W/venv/bin/python -c 'import json; json.dumps({})'",
        '$W/venv/bin/pip --version >/dev/null',
        '# tar',
        'tar -C $W -czf $W/src.tgz build repo',
        'mkdir $W/x && tar -C $W/x -xzf $W/src.tgz',
        "# logrotate's operations on an application log (rename, compress, recreate; copytruncate)",
        'mv $W/log/app.log $W/log/app.log.1 && gzip -9 $W/log/app.log.1 && : > $W/log/app.log && chmod 640 $W/log/app.log',
        'cp $W/log/app.log $W/log/app.log.2 && truncate -s 0 $W/log/app.log',
        "# the distro's cron job (dpkg database backup) and a cron-like detached job",
        'run-parts --regex "^dpkg$" /etc/cron.daily',
        'setsid sh -c "$W/job.sh >> $W/log/job.log 2>&1"',
        '# an interactive shell over a pty',
        "script -qec \"bash --norc -i -c 'cd $W; ls >/dev/null; id >/dev/null; ps >/dev/null; cat /etc/os-release >/dev/null'\" /dev/null >/dev/null",
        `/bin/true ${SENTINEL}`,
      ].join('\n'),
    );
    const r = await run('sh', [script], w);
    assert.equal(r.code, 0, r.stderr);
    const cgroupId = String(statSync(cgroup).ino);
    // Events come in order per CPU, not across CPUs: the sentinel is the
    // workload's last exec, and the deadline covers the rest.
    await sensor.waitFor((d) => ruleIds(d).includes('benign_suite_sentinel') && d.ebpf?.process?.cgroup_id === cgroupId, 30000, 'the sentinel alert');
    const docs = sensor.docs().filter((d) => d.ebpf?.process?.cgroup_id === cgroupId && !ruleIds(d).includes('benign_suite_sentinel'));
    const alerts = docs.filter((d) => d.event?.kind === 'alert');
    const severe = alerts.flatMap((d) => matches(d).filter((m) => m.severity !== 'low').map((m) => `${m.id} (${m.severity}): ${d.message}`));
    assert.deepEqual(severe, [], 'no medium+ alert from ordinary work');
    const low = new Map<string, number>();
    for (const d of alerts) for (const m of matches(d)) low.set(m.id, (low.get(m.id) ?? 0) + 1);
    const total = [...low.values()].reduce((a, b) => a + b, 0);
    console.log(`# benign workload: ${total} low alerts: ${JSON.stringify(Object.fromEntries(low))}`);
    const documented = documentedCounts();
    const total0 = documented.get('total');
    documented.delete('total');
    assert.deepEqual(Object.fromEntries([...low].sort()), Object.fromEntries([...documented].filter(([, n]) => n > 0).sort()), 'low alerts per rule as in docs/rules.md');
    assert.equal(total, total0, 'total as in docs/rules.md');
  });
});
