// Container mode (issue #20 point 4): the host root decides where users,
// groups, os-release, machine-id and the host name are read from.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveHostRoot, inContainer, hostPath } from '../../src/pipeline/host-root.js';
import { collectHostInfo } from '../../src/pipeline/host-info.js';
import { Enricher } from '../../src/enrich/enrich.js';
import { sensorEvent } from '../helpers/journal-fixtures.js';

const probe = (files: string[], env: NodeJS.ProcessEnv = {}) => ({ exists: (p: string) => files.includes(p), env });

test('default host root: /host only inside a container and only when /host/etc exists', () => {
  assert.equal(resolveHostRoot(undefined, probe(['/host/etc'])), '/', 'not in a container');
  assert.equal(resolveHostRoot(undefined, probe(['/.dockerenv', '/host/etc'])), '/host');
  assert.equal(resolveHostRoot(undefined, probe(['/host/etc'], { KUBERNETES_SERVICE_HOST: '10.0.0.1' })), '/host');
  assert.equal(resolveHostRoot(undefined, probe(['/run/.containerenv'])), '/', 'no /host mounted');
  assert.equal(resolveHostRoot('/mnt/h', probe(['/.dockerenv', '/host/etc'])), '/mnt/h', 'configured wins');
  assert.equal(inContainer(probe([], { container: 'podman' })), true);
  assert.equal(hostPath('/', '/etc/passwd'), '/etc/passwd');
  assert.equal(hostPath('/host', '/etc/passwd'), '/host/etc/passwd');
});

function fakeHost(): string {
  const root = mkdtempSync(join(tmpdir(), 'ebpf-sensor-hostroot-'));
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/passwd'), 'hostroot:x:0:0:root:/root:/bin/sh\nalice:x:4242:4243::/home/alice:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'hostroot:x:0:\nstaff-on-host:x:4243:\n');
  writeFileSync(join(root, 'etc/os-release'), 'NAME="Host Linux"\nID=hostlinux\nVERSION_ID="42"\n');
  writeFileSync(join(root, 'etc/machine-id'), '0123456789abcdef0123456789abcdef\n');
  writeFileSync(join(root, 'etc/hostname'), 'the-node\n');
  return root;
}

test('host facts come from the host root: os-release, machine-id, hostname', () => {
  const root = fakeHost();
  const h = collectHostInfo(undefined, root);
  assert.equal(h.id, '0123456789abcdef0123456789abcdef');
  assert.equal(h.name, 'the-node');
  assert.equal(h.hostname, 'the-node');
  assert.equal(h.os.name, 'Host Linux');
  assert.equal(h.os.version, '42');
  assert.equal(h.os.platform, 'hostlinux');
  assert.equal(collectHostInfo('override', root).name, 'override');
  assert.notEqual(collectHostInfo(undefined, '/').id, h.id, 'without a host root, this machine');
});

test('user and group names come from the host root\'s passwd and group', () => {
  const root = fakeHost();
  const e = new Enricher({ hostId: 'h', seedFromProc: false, resolveContainers: false, resolveNames: true, hostRoot: root });
  const ev = sensorEvent(1);
  ev.process.user = { id: '4242' };
  ev.process.group = { id: '4243' };
  e.enrich(ev);
  assert.equal(ev.process.user.name, 'alice');
  assert.equal(ev.process.group.name, 'staff-on-host');
});
