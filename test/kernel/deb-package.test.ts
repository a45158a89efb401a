// Issue #20 point 3: the Debian package. Built with scripts/build-deb.sh
// (dpkg-deb), installed with dpkg -i, its files and modes checked, the unit
// verified by systemd-analyze, the installed binary run live with only the
// capabilities the unit grants (setpriv), then removed and purged without a
// trace. Root only: it installs into this machine's /usr and /etc.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, lstatSync, readlinkSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import { skipReason, startSensor } from './harness.js';

const UNIT = '/lib/systemd/system/ebpf-sensor.service';
const dpkgStatus = (): string => spawnSync('dpkg-query', ['-W', '-f=${Status}', 'ebpf-sensor'], { encoding: 'utf8' }).stdout;

function why(): string | false {
  const k = skipReason();
  if (k) return k;
  if (spawnSync('dpkg-deb', ['--version']).status !== 0) return 'dpkg-deb not installed';
  if (dpkgStatus().includes('installed')) return 'an ebpf-sensor package is already installed on this machine: not touching it';
  return false;
}
const skip = why();
let deb: string;

before(() => {
  if (skip) return;
  const out = mkdtempSync(join(tmpdir(), 'ebpf-sensor-deb-'));
  deb = execFileSync('sh', ['scripts/build-deb.sh', out], { cwd: packageRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n').pop()!;
  const r = spawnSync('dpkg', ['-i', deb], { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  assert.equal(r.status, 0, `dpkg -i:\n${r.stdout}\n${r.stderr}`);
});
after(() => {
  // Never leave the package behind, even when a test failed.
  if (!skip && dpkgStatus() !== '') spawnSync('dpkg', ['--purge', 'ebpf-sensor']);
});

test('the package metadata: dependencies, conffile, maintainer scripts', { skip }, () => {
  const f = execFileSync('dpkg-deb', ['-f', deb, 'Package', 'Depends', 'Architecture'], { encoding: 'utf8' });
  assert.match(f, /Depends: nodejs \(>= 20\), libelf1, zlib1g/);
  assert.doesNotMatch(f, /libbpf|clang|gcc/);
  assert.equal(execFileSync('dpkg-deb', ['-I', deb, 'conffiles'], { encoding: 'utf8' }).trim(), '/etc/ebpf-sensor/config.yaml');
});

test('files under FHS paths with the right owners and modes', { skip }, () => {
  const mode = (p: string): string => (statSync(p).mode & 0o7777).toString(8);
  const owner = (p: string): string => `${statSync(p).uid}:${statSync(p).gid}`;
  assert.ok(lstatSync('/usr/bin/ebpf-sensor').isSymbolicLink());
  assert.equal(readlinkSync('/usr/bin/ebpf-sensor'), '../lib/ebpf-sensor/bin/ebpf-sensor.js');
  for (const p of [`/usr/lib/ebpf-sensor/bpf/.output/${process.arch}/sensor.bpf.o`, `/usr/lib/ebpf-sensor/bpf/.output/${process.arch}/sensor-compat.bpf.o`, `/usr/lib/ebpf-sensor/native/prebuilds/linux-${process.arch}/node.glibc.node`, '/usr/lib/ebpf-sensor/node_modules/pino/package.json', '/usr/lib/ebpf-sensor/rules/00-base.yaml']) {
    assert.ok(existsSync(p), p);
  }
  assert.ok(!existsSync('/usr/lib/ebpf-sensor/node_modules/typescript'), 'no devDependencies');
  // One architecture per .deb: the other's objects and addon (in the npm tarball) are left out.
  assert.deepEqual(readdirSync('/usr/lib/ebpf-sensor/bpf/.output'), [process.arch]);
  assert.deepEqual(readdirSync('/usr/lib/ebpf-sensor/native/prebuilds'), [`linux-${process.arch}`]);
  assert.equal(mode('/etc/ebpf-sensor/config.yaml'), '640');
  assert.equal(owner('/etc/ebpf-sensor/config.yaml'), '0:0');
  assert.equal(mode('/etc/ebpf-sensor'), '755');
  assert.equal(mode(UNIT), '644');
  assert.equal(mode('/usr/lib/tmpfiles.d/ebpf-sensor.conf'), '644');
  for (const d of ['/var/lib/ebpf-sensor', '/var/lib/ebpf-sensor/journal', '/var/log/ebpf-sensor']) {
    assert.equal(mode(d), '750', d);
    assert.equal(owner(d), '0:0', d);
  }
  // Nothing in the package is writable by group or others.
  const listing = execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).split('\n').filter(Boolean);
  const writable = listing.filter((l) => /^[dl-]....(w|.....w)/.test(l) && !l.startsWith('l'));
  assert.deepEqual(writable, []);
  assert.ok(listing.every((l) => l.split(/\s+/)[1] === 'root/root'), 'every file root/root');
});

test('systemd-analyze verify accepts the unit; it is hardened', { skip }, () => {
  const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.equal(r.stderr.trim(), '', r.stderr);
  const unit = readFileSync(UNIT, 'utf8');
  for (const line of ['ProtectSystem=strict', 'ReadWritePaths=/var/lib/ebpf-sensor /var/log/ebpf-sensor', 'Restart=on-failure', 'KillSignal=SIGTERM', 'NoNewPrivileges=yes']) {
    assert.ok(unit.split('\n').includes(line), line);
  }
  assert.doesNotMatch(/^CapabilityBoundingSet=.*$/m.exec(unit)![0], /CAP_SYS_ADMIN/, 'no CAP_SYS_ADMIN');
});

test('the installed binary runs live with only the unit\'s capabilities and the packaged config', { skip, timeout: 120000 }, async () => {
  const caps = /^CapabilityBoundingSet=(.*)$/m.exec(readFileSync(UNIT, 'utf8'))![1]!.trim().split(/\s+/);
  const set = caps.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`).join(',');
  // setpriv is the unit's CapabilityBoundingSet + NoNewPrivileges for a process started by hand.
  // The packaged config forwards alerts only; the environment override lets the test see its exec.
  const sensor = await startSensor(['--config', '/etc/ebpf-sensor/config.yaml'], { EBPF_SENSOR_OUTPUT__EVENTS: 'all' }, {
    bin: '/usr/bin/ebpf-sensor',
    wrap: ['setpriv', `--bounding-set=-all,${set}`, '--inh-caps=-all', '--no-new-privs', '--'],
  });
  try {
    const capEff = /^CapEff:\s*(\w+)/m.exec(readFileSync(`/proc/${sensor.proc.pid}/status`, 'utf8'))![1]!;
    assert.equal(BigInt(`0x${capEff}`) & (1n << 21n), 0n, 'runs without CAP_SYS_ADMIN');
    const marker = `ebpf-sensor-deb-${randomBytes(6).toString('hex')}`;
    const r = spawnSync('/bin/true', [marker]);
    const doc = await sensor.waitFor((d) => d.ebpf?.syscall === 'execve' && d.process?.args?.includes(marker), 20000, `exec of ${marker}`);
    assert.equal(doc.process.pid, r.pid);
  } finally {
    const code = await sensor.stop('SIGTERM');
    assert.equal(code, 0, `clean stop on SIGTERM; stderr:\n${sensor.stderr()}`);
  }
  assert.match(sensor.stderr(), /every program detached/);
});

test('remove keeps the config, purge leaves nothing', { skip }, () => {
  let r = spawnSync('dpkg', ['--remove', 'ebpf-sensor'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!existsSync('/usr/lib/ebpf-sensor') && !existsSync('/usr/bin/ebpf-sensor') && !existsSync(UNIT), 'program files gone');
  assert.ok(existsSync('/etc/ebpf-sensor/config.yaml'), 'config kept until purge');
  r = spawnSync('dpkg', ['--purge', 'ebpf-sensor'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  for (const p of ['/etc/ebpf-sensor', '/var/lib/ebpf-sensor', '/var/log/ebpf-sensor', '/usr/lib/tmpfiles.d/ebpf-sensor.conf', '/etc/systemd/system/multi-user.target.wants/ebpf-sensor.service']) {
    assert.ok(!existsSync(p), `${p} gone after purge`);
  }
  assert.equal(dpkgStatus(), '');
});
