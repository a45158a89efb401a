// Issue #6: the harness itself. A server that cannot start is reported by
// name with its log; a run whose owner died (a killed test run) is stopped by
// PID by the next start. Uses its own Kafka-only run, apart from the suite's.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSensorError } from '../../src/errors.js';
import { groupMembers } from '../services/process-control.js';
import { reapStaleRuns, service, startService, startServices, stopService, stopServices } from '../services/services.js';
import { readState, writeState } from '../services/state.js';

describe('test services: the harness', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'services-harness-'));
  const stateFile = join(dir, 'ebpf-sensor-services-own.json');
  after(async () => {
    await stopServices(stateFile);
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts a run of its own and reports a server that cannot start by name, with its log', async () => {
    const state = await startServices({ stateFile, only: ['kafka'], owner: process.pid, say: () => {} });
    const rec = state.services.kafka!;
    assert.ok(rec.process && groupMembers(rec.process.pid).length > 0);
    assert.ok(rec.dir.startsWith(state.dir) && rec.dataDir.startsWith(rec.dir), 'data lives in the run directory');

    await stopService('kafka', stateFile);
    const props = join(rec.dir, 'server.properties');
    const good = readFileSync(props, 'utf8');
    writeFileSync(props, good.replace(/^node\.id=1$/m, 'node.id=not-a-number'));
    await assert.rejects(startService('kafka', stateFile), (e: unknown) => {
      assert.ok(isSensorError(e, 'ESENSOR_SERVICE'), String(e));
      assert.match(e.message, /^kafka \(kafka [\d.]+\) exited before it answered on 127\.0\.0\.1:\d+/);
      assert.match(e.message, /not-a-number/, 'the log tail shows why');
      return true;
    });
    writeFileSync(props, good);
    const back = await startService('kafka', stateFile);
    assert.equal(back.port, rec.port);
  });

  it('stops the servers of a run whose owner died, by PID, when the next run starts', async () => {
    const rec = service('kafka', stateFile);
    const pid = rec.process!.pid;
    // Hand the run to a process that no longer exists, as when a test run is killed.
    const dead = spawnSync('true').pid;
    const state = readState(stateFile);
    state.owner = dead;
    writeState(stateFile, state);

    const cleaned = await reapStaleRuns(join(dir, 'ebpf-sensor-services-next.json'), () => {});
    assert.deepEqual(cleaned, [stateFile]);
    assert.deepEqual(groupMembers(pid), [], `pid ${pid} is gone`);
    assert.equal(existsSync(state.dir), false, 'the run directory is removed');
    assert.equal(existsSync(stateFile), false, 'the state file is removed');
  });
});
