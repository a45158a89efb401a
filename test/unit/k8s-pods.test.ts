// Issue #20 point 5: Kubernetes pod metadata without an API server. The pod
// uid comes from the kubelet's cgroup names (both cgroup drivers), the pod's
// name and namespace and the container's name from the directories the
// kubelet writes on every node (/var/log/pods, /var/log/containers). These
// tests build that directory layout themselves: they check the parsing and
// the ECS/rule fields, not a kubelet (none runs here; the live cgroup path is
// in test/kernel/k8s-pod.test.ts).
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { podUidFromCgroupPath, PodResolver } from '../../src/enrich/pods.js';
import { ContainerResolver, containerFromCgroupPath } from '../../src/enrich/containers.js';
import { toEcs, ecsJson } from '../../src/normalize/ecs/ecs.js';
import { ecsLine } from '../../src/normalize/ecs/ecs-serializer.js';
import { fieldSpec } from '../../src/rules/fields.js';
import { validateEcs } from '../helpers/ecs-validator.js';
import { corpus, HOST, AGENT } from '../helpers/normalize-corpus.js';

const UID = '5e2c1f0a-7b3d-4c9e-8f1a-2b3c4d5e6f70';
const CID = 'a'.repeat(8) + '0123456789abcdef'.repeat(3) + 'b'.repeat(8);

test('the pod uid comes from kubelet cgroup names: systemd and cgroupfs drivers, every QoS class', () => {
  const u = UID.replace(/-/g, '_');
  assert.equal(podUidFromCgroupPath(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${u}.slice/cri-containerd-${CID}.scope`), UID);
  assert.equal(podUidFromCgroupPath(`/kubepods.slice/kubepods-pod${u}.slice/crio-${CID}.scope`), UID, 'guaranteed QoS');
  assert.equal(podUidFromCgroupPath(`/kubepods/besteffort/pod${UID}/${CID}`), UID);
  assert.equal(podUidFromCgroupPath(`/kubepods/pod${UID}/${CID}`), UID);
  // Seen from the sensor pod's own cgroup namespace, another pod's path is relative.
  assert.equal(podUidFromCgroupPath(`/../../burstable/pod${UID}/${CID}`), UID);
  assert.equal(podUidFromCgroupPath(`/../../kubepods-besteffort-pod${u}.slice/cri-containerd-${CID}.scope`), UID);
  assert.equal(podUidFromCgroupPath(`/system.slice/docker-${CID}.scope`), undefined, 'not a pod');
  assert.equal(podUidFromCgroupPath(`/user.slice/user-0.slice/session-3.scope`), undefined);
});

function kubeletLogs(): string {
  const root = mkdtempSync(join(tmpdir(), 'ebpf-sensor-pods-'));
  const podDir = join(root, 'pods', `payments_api-7d9f8b-x2k4q_${UID}`);
  mkdirSync(join(podDir, 'server'), { recursive: true });
  writeFileSync(join(podDir, 'server', '0.log'), '');
  mkdirSync(join(root, 'containers'));
  symlinkSync(join(podDir, 'server', '0.log'), join(root, 'containers', `api-7d9f8b-x2k4q_payments_server-${CID}.log`));
  return root;
}

test('name and namespace from /var/log/pods, the container name from /var/log/containers; a node without them gives the uid', () => {
  const logs = kubeletLogs();
  const path = `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID.replace(/-/g, '_')}.slice/cri-containerd-${CID}.scope`;
  assert.deepEqual(new PodResolver(logs).lookup(path, CID), { uid: UID, name: 'api-7d9f8b-x2k4q', namespace: 'payments', container: 'server' });
  assert.deepEqual(new PodResolver(join(logs, 'nowhere')).lookup(path, CID), { uid: UID });
  assert.equal(new PodResolver(logs).lookup(`/system.slice/docker-${CID}.scope`, CID), undefined);
});

test('a pod that appears after the first listing is found on its first lookup', () => {
  const logs = kubeletLogs();
  const r = new PodResolver(logs);
  const other = '0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e';
  assert.equal(r.lookup(`/kubepods/pod${other}/${CID}`, undefined)!.name, undefined);
  mkdirSync(join(logs, 'pods', `default_late_${UID.slice(0, 35)}1`));
  assert.equal(r.lookup(`/kubepods/pod${UID.slice(0, 35)}1/${CID}`, undefined)!.name, 'late');
});

test('container ids of pods, also from relative cgroup paths (the sensor pod\'s own cgroup namespace)', () => {
  assert.deepEqual(containerFromCgroupPath(`/../../burstable/pod${UID}/${CID}`), { id: CID, runtime: 'containerd' });
  assert.deepEqual(containerFromCgroupPath(`/../../kubepods-besteffort-pod${UID.replace(/-/g, '_')}.slice/cri-containerd-${CID}.scope`), { id: CID, runtime: 'containerd' });
});

test('the container resolver attaches the pod once per cgroup', () => {
  const logs = kubeletLogs();
  const proc = mkdtempSync(join(tmpdir(), 'ebpf-sensor-proc-'));
  mkdirSync(join(proc, '42'));
  writeFileSync(join(proc, '42', 'cgroup'), `0::/kubepods/burstable/pod${UID}/${CID}\n`);
  const c = new ContainerResolver(proc, 16, new PodResolver(logs)).lookup('777', 42)!;
  assert.deepEqual(c.container, { id: CID, runtime: 'containerd' });
  assert.deepEqual(c.pod, { uid: UID, name: 'api-7d9f8b-x2k4q', namespace: 'payments', container: 'server' });
});

test('orchestrator.* and container.name: ECS-valid, the serializer writes the reference bytes, rules can name them', () => {
  const ce = corpus().find((c) => c.event.container)!;
  const ev = ce.event;
  ev.container!.name = 'server';
  ev.orchestrator = { type: 'kubernetes', namespace: 'payments', resource: { type: 'pod', id: UID, name: 'api-7d9f8b-x2k4q' } };
  const ref = ecsJson(toEcs(ce, HOST, AGENT));
  assert.equal(ecsLine(ce, HOST, AGENT), ref);
  const doc = JSON.parse(ref);
  assert.deepEqual(doc.orchestrator, { type: 'kubernetes', namespace: 'payments', resource: { type: 'pod', id: UID, name: 'api-7d9f8b-x2k4q' } });
  assert.equal(doc.container.name, 'server');
  assert.deepEqual(validateEcs(doc), []);
  assert.equal(fieldSpec('orchestrator.namespace')!.get(ev), 'payments');
  assert.equal(fieldSpec('orchestrator.resource.name')!.get(ev), 'api-7d9f8b-x2k4q');
  assert.equal(fieldSpec('orchestrator.resource.id')!.get(ev), UID);
  assert.equal(fieldSpec('container.name')!.get(ev), 'server');
});
