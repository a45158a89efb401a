/**
 * bench/services-helper: the test harness's real servers for a benchmark.
 *
 * Takes: the services a benchmark needs. Gives: them running — the ones of
 * EBPF_SENSOR_TEST_SERVICES when it is set (started by hand with
 * dist/test/services/cli.js), else started here and stopped by `stop()`
 * (also on SIGINT) — or the reason they cannot run. Hold
 * /tmp/ebpf-sensor-integration.lock around a benchmark that starts them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServices, stopServices, type ServiceName } from '../test/services/services.js';

function which(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface BenchServices {
  stop(): Promise<void>;
}

/** Starts `names` unless EBPF_SENSOR_TEST_SERVICES names running ones; a string says why they cannot run. */
export async function benchServices(names: readonly ServiceName[]): Promise<BenchServices | string> {
  if (process.env.EBPF_SENSOR_TEST_SERVICES) return { stop: async () => undefined };
  if (!which('mvn') || !(which('java') || existsSync('/usr/lib/jvm'))) {
    return 'it needs Maven and a JDK to fetch and run the test servers (sh scripts/setup.sh --with-test-deps installs them)';
  }
  let state: string | undefined = join(tmpdir(), `ebpf-sensor-services-bench-${process.pid}.json`);
  process.env.EBPF_SENSOR_TEST_SERVICES = state;
  try {
    await startServices({ stateFile: state, only: names, owner: process.pid });
  } catch (e) {
    return `the test services did not start: ${(e as Error).message.split('\n')[0]}`;
  }
  const stop = async (): Promise<void> => {
    const s = state;
    state = undefined;
    if (s) await stopServices(s);
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  return { stop };
}
