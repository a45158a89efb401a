// issue-12: a test service whose launcher or server process crashed is not
// "running", and stopping it stops every process left of its group, so
// start-service can start it again. A fake launcher (a shell with a server
// child) stands in for Elasticsearch's CLI and server JVM; the real one is
// exercised in test/integration/services-elasticsearch.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groupHandles, groupIntact, isRunning, launch, stopProcess, type ProcessHandle } from '../services/process-control.js';

const WAIT_MS = 60_000;

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${WAIT_MS} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A launcher (the group leader, a shell that does not wait for its child) and a server child. */
async function fakeService(dir: string): Promise<{ leader: ProcessHandle; server: ProcessHandle; members: ProcessHandle[] }> {
  const leader = await launch({ command: 'sh', args: ['-c', 'sleep 3600 & while :; do sleep 3600; done'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, cwd: dir, logFile: join(dir, 'log') });
  await until(() => groupHandles(leader.pid).length >= 2, 'the server child');
  const members = groupHandles(leader.pid);
  const server = members.find((m) => m.pid !== leader.pid)!;
  return { leader, server, members };
}

for (const victim of ['server', 'launcher'] as const) {
  test(`issue-12: after the ${victim} is killed the service is not running, and a stop leaves nothing of its group`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'svc-crash-'));
    const svc = await fakeService(dir);
    t.after(async () => {
      await stopProcess(svc.leader, 1000).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    });
    assert.equal(groupIntact(svc.leader, svc.members), true);
    const dead = victim === 'server' ? svc.server : svc.leader;
    const alive = victim === 'server' ? svc.leader : svc.server;
    process.kill(dead.pid, 'SIGKILL');
    await until(() => !isRunning(dead), `the end of the ${victim}`);
    assert.equal(isRunning(alive), true, `the other process outlives the ${victim}`);
    assert.equal(groupIntact(svc.leader, svc.members), false, 'half a service is not a running service');
    assert.notEqual(await stopProcess(svc.leader), 'not-running', 'what is left is stopped');
    assert.deepEqual(groupHandles(svc.leader.pid), [], 'no member of the group is left');
    assert.equal(isRunning(alive), false);
  });
}
