// Container mode live (issue #20 point 4), without a container engine: the
// sensor runs in its own mount namespace (unshare -m) whose /etc is not the
// host's — a passwd that names uid 0 'container-root', another os-release
// and machine-id, as in an image — with the host's root bind-mounted at a
// path given to --host-root. User names and host facts must be the host's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipReason, startSensor } from './harness.js';

const skip = skipReason() || (spawnSync('unshare', ['--version']).status !== 0 ? 'unshare (util-linux) not installed' : false);

function osName(text: string): string {
  return /^NAME="?([^"\n]*)"?$/m.exec(text)![1]!;
}

test('in a mount namespace with an image\'s /etc, --host-root makes names and host facts the host\'s', { skip, timeout: 120000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-ns-'));
  const hostMnt = join(dir, 'host');
  const imageEtc = join(dir, 'etc');
  mkdirSync(hostMnt);
  execFileSync('cp', ['-a', '/etc', imageEtc]);
  writeFileSync(join(imageEtc, 'passwd'), readFileSync('/etc/passwd', 'utf8').replace(/^root:/m, 'container-root:'));
  rmSync(join(imageEtc, 'os-release'), { force: true });
  writeFileSync(join(imageEtc, 'os-release'), 'NAME="Image Linux"\nID=imagelinux\nVERSION_ID="1"\n');
  writeFileSync(join(imageEtc, 'machine-id'), 'feedfacefeedfacefeedfacefeedface\n');
  const hostOs = osName(readFileSync('/etc/os-release', 'utf8'));
  const hostId = readFileSync('/etc/machine-id', 'utf8').trim();
  // The host's root first (recursively, before /etc is covered), then the image's /etc.
  const wrap = ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'h=$1; e=$2; shift 2; mount --rbind / "$h" && mount --bind "$e" /etc && exec "$@"', 'sh', hostMnt, imageEtc];
  const sensor = await startSensor(['--host-root', hostMnt, '--events', 'all'], {}, { wrap });
  try {
    // The sensor's own view is the image's /etc (the namespace holds), the host's files at hostMnt.
    const seen = readFileSync(`/proc/${sensor.proc.pid}/root/etc/passwd`, 'utf8');
    assert.match(seen, /^container-root:x:0:/m, 'the sensor sees the image /etc');
    assert.match(readFileSync(`/proc/${sensor.proc.pid}/root${hostMnt}/etc/passwd`, 'utf8'), /^root:x:0:/m);
    const marker = `ebpf-sensor-hostroot-${randomBytes(6).toString('hex')}`;
    const r = spawnSync('/bin/true', [marker]);
    const doc = await sensor.waitFor((d) => d.ebpf?.syscall === 'execve' && d.process?.args?.includes(marker), 20000, `exec of ${marker}`);
    assert.equal(doc.process.pid, r.pid);
    assert.equal(doc.process.user.id, '0');
    assert.equal(doc.process.user.name, 'root', 'uid 0 named from the host\'s passwd, not the image\'s');
    assert.equal(doc.host.os.name, hostOs);
    assert.equal(doc.host.id, hostId);
    assert.match(sensor.stderr(), new RegExp(`"hostRoot":"${hostMnt}"`));
  } finally {
    const code = await sensor.stop('SIGINT');
    assert.equal(code, 0, `clean exit; stderr:\n${sensor.stderr()}`);
  }
  // Only once the namespace (and its bind of /) is gone: hostMnt must be an empty directory here.
  if (readdirSync(hostMnt).length === 0) rmSync(dir, { recursive: true, force: true });
});
