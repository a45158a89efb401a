// Issue #20 point 5 live: container.id and the pod of processes in cgroups
// named the way the kubelet and the CRI runtimes name them, on the real
// kernel. The test makes those cgroups (v2), moves a process into each and
// has the sensor (with --host-root) report its exec: pod A with the systemd
// cgroup driver and the kubelet's log directories under the host root (name,
// namespace, container name), pod B with the cgroupfs driver and no log
// directories (uid only). No kubelet or container runtime runs here: the
// cgroup names and the directory layout are theirs, made by this test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipReason, startSensor } from './harness.js';

const CG = existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';
const skip = skipReason() || (!existsSync(join(CG, 'cgroup.procs')) ? 'no cgroup v2 hierarchy' : false);

/** A sleeping process moved into `cgroup` before it execs (so the exec is seen in that cgroup). */
function runIn(cgroup: string): ChildProcess {
  return spawn('sh', ['-c', 'echo $$ > "$1/cgroup.procs" && exec /bin/sleep 300', 'sh', cgroup], { stdio: 'ignore' });
}

test('processes in kubelet-named cgroups get container.id and the pod (name and namespace from the node\'s kubelet log directories)', { skip, timeout: 120000 }, async () => {
  const uidA = randomUUID();
  const uidB = randomUUID();
  const cidA = randomBytes(32).toString('hex');
  const cidB = randomBytes(32).toString('hex');
  const tag = randomBytes(3).toString('hex');
  const ns = `ns-${tag}`;
  const pod = `web-${tag}-x2k4q`;
  const cgA = [`kubepods.slice`, `kubepods-besteffort.slice`, `kubepods-besteffort-pod${uidA.replace(/-/g, '_')}.slice`, `cri-containerd-${cidA}.scope`];
  const cgB = ['kubepods', 'burstable', `pod${uidB}`, cidB];
  const dirs = [cgA, cgB].map((parts) => join(CG, ...parts));
  for (const d of dirs) mkdirSync(d, { recursive: true });

  // The host root: this machine's /etc, plus the kubelet's log layout for pod A.
  const hostRoot = mkdtempSync(join(tmpdir(), 'ebpf-sensor-k8s-host-'));
  symlinkSync('/etc', join(hostRoot, 'etc'));
  const podDir = join(hostRoot, 'var/log/pods', `${ns}_${pod}_${uidA}`);
  mkdirSync(join(podDir, 'app'), { recursive: true });
  writeFileSync(join(podDir, 'app/0.log'), '');
  mkdirSync(join(hostRoot, 'var/log/containers'));
  symlinkSync(join(podDir, 'app/0.log'), join(hostRoot, 'var/log/containers', `${pod}_${ns}_app-${cidA}.log`));

  const sensor = await startSensor(['--host-root', hostRoot, '--events', 'all']);
  const kids: ChildProcess[] = [];
  try {
    const a = runIn(dirs[0]!);
    const b = runIn(dirs[1]!);
    kids.push(a, b);
    const docA = await sensor.waitFor((d) => d.ebpf?.syscall === 'execve' && d.process?.pid === a.pid && d.process?.name === 'sleep', 30000, 'exec of sleep in pod A');
    assert.equal(docA.container?.id, cidA);
    assert.equal(docA.container?.runtime, 'containerd');
    assert.equal(docA.container?.name, 'app');
    assert.deepEqual(docA.orchestrator, { type: 'kubernetes', namespace: ns, resource: { type: 'pod', id: uidA, name: pod } });
    const docB = await sensor.waitFor((d) => d.ebpf?.syscall === 'execve' && d.process?.pid === b.pid && d.process?.name === 'sleep', 30000, 'exec of sleep in pod B');
    assert.equal(docB.container?.id, cidB);
    assert.equal(docB.container?.name, undefined);
    assert.deepEqual(docB.orchestrator, { type: 'kubernetes', resource: { type: 'pod', id: uidB } });
  } finally {
    const gone = kids.map((k) => new Promise<void>((res) => (k.exitCode !== null || k.signalCode !== null ? res() : k.once('exit', () => res()))));
    for (const k of kids) k.kill('SIGKILL');
    await Promise.all(gone);
    const code = await sensor.stop('SIGINT');
    // Leaves first, then their parents: a cgroup is removed once empty.
    for (const parts of [cgA, cgB]) {
      for (let n = parts.length; n > 0; n--) {
        try {
          rmdirSync(join(CG, ...parts.slice(0, n)));
        } catch {
          // kubepods* of a real kubelet, or still populated: left as it is
        }
      }
    }
    rmSync(hostRoot, { recursive: true, force: true });
    assert.equal(code, 0, `clean exit; stderr:\n${sensor.stderr()}`);
  }
});
