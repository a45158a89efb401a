// Issue #20 point 2: `npm pack` yields a package that installs and runs as
// root on a machine with Node.js and no compiler. The packed tarball is
// installed into an empty directory with a PATH stripped of compilers; the
// installed `ebpf-sensor run` (prebuilt addon with libbpf linked in, the
// shipped CO-RE object of this architecture) must report a live exec. Both
// architectures of package.json's cpu are in the tarball.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import { noCompilerPath, compilersOn } from '../helpers/no-compiler-path.js';
import { skipReason, startSensor } from './harness.js';

const skip = skipReason();
let work: string;
let tarball: string;
let installed: string;
let PATH: string;

before(() => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'ebpf-sensor-npm-'));
  // npm pack runs prepack (scripts/prebuild.sh): objects, prebuilt addon, dist.
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: packageRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  tarball = join(work, (JSON.parse(out) as Array<{ filename: string }>)[0]!.filename);
  PATH = noCompilerPath(join(work, 'path'));
  const app = join(work, 'app');
  execFileSync('mkdir', [app]);
  writeFileSync(join(app, 'package.json'), '{"name":"empty-app","private":true}\n');
  // Dependencies come from npm's cache when setup.sh filled it (CI), else the registry.
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball], {
    cwd: app,
    env: { HOME: process.env.HOME ?? '/root', PATH },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `npm install of the tarball failed:\n${r.stdout}\n${r.stderr}`);
  installed = join(app, 'node_modules/ebpf-sensor');
});

test('the tarball holds the prebuilt addon and both CO-RE objects, no local build', { skip }, () => {
  const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).split('\n');
  for (const f of [`package/bpf/.output/${process.arch}/sensor.bpf.o`, `package/bpf/.output/${process.arch}/sensor-compat.bpf.o`, `package/native/prebuilds/linux-${process.arch}/node.glibc.node`, 'package/bin/ebpf-sensor.js', 'package/rules/00-base.yaml']) {
    assert.ok(files.includes(f), `${f} in the tarball`);
  }
  assert.ok(!files.some((f) => f.startsWith('package/native/build/') || f.startsWith('package/dist/test/') || f.includes('vmlinux')), 'no build tree, tests or vmlinux.h shipped');
  // On x86-64, prepack also cross-builds linux-arm64 (scripts/prebuild-arm64.sh; the toolchain comes
  // with setup.sh --with-test-deps; the binary itself is checked in test/unit/arm64-prebuild.test.ts).
  // package.json's cpu lists both: each architecture's addon and BPF objects are in the tarball (the arm64
  // objects are checked against an arm64 kernel's BTF in test/unit/arm64-bpf.test.ts); the build
  // machine's copies at bpf/.output/*.bpf.o are not shipped (the loader picks bpf/.output/<process.arch>/).
  const pkg = JSON.parse(execFileSync('tar', ['xzOf', tarball, 'package/package.json'], { encoding: 'utf8' })) as { cpu: string[] };
  assert.deepEqual(pkg.cpu, ['x64', 'arm64']);
  for (const arch of pkg.cpu) {
    for (const f of [`bpf/.output/${arch}/sensor.bpf.o`, `bpf/.output/${arch}/sensor-compat.bpf.o`, `native/prebuilds/linux-${arch}/node.glibc.node`]) {
      assert.ok(files.includes(`package/${f}`), `${f} in the tarball`);
    }
  }
  assert.ok(!files.includes('package/bpf/.output/sensor.bpf.o'), 'no architecture-less object');
  assert.ok(!existsSync(join(installed, 'native/build')), 'installing compiled nothing');
});

test('the prebuilt addon needs no libbpf on the machine (libbpf linked in)', { skip }, () => {
  const addon = join(installed, `native/prebuilds/linux-${process.arch}`, readdirSync(join(installed, `native/prebuilds/linux-${process.arch}`))[0]!);
  const deps = execFileSync('ldd', [addon], { encoding: 'utf8' });
  assert.doesNotMatch(deps, /libbpf/, deps);
  assert.match(deps, /libelf\.so\.1/);
});

test('installed with no compiler on PATH, `ebpf-sensor run` reports a live exec and stops cleanly', { skip, timeout: 120000 }, async () => {
  assert.deepEqual(compilersOn(PATH), [], 'the stripped PATH has no compiler');
  const sensor = await startSensor([], { PATH }, { bin: join(installed, 'bin/ebpf-sensor.js') });
  try {
    const marker = `ebpf-sensor-npm-${randomBytes(6).toString('hex')}`;
    const r = spawnSync('/bin/true', [marker]);
    const doc = await sensor.waitFor((d) => d.ebpf?.syscall === 'execve' && d.process?.args?.includes(marker), 20000, `exec of ${marker}`);
    assert.equal(doc.process.pid, r.pid);
  } finally {
    const code = await sensor.stop('SIGINT');
    assert.equal(code, 0, `clean exit; stderr:\n${sensor.stderr()}`);
  }
  assert.match(sensor.stderr(), /every program detached/);
});
