// issue-16, live: real behaviours under the live sensor, and Elastic's own
// prebuilt rules (the reference copy in ../shared, evaluated by Elastic's `eql`
// package through bench/elastic-compat/check.sh) fire on the documents the
// sensor wrote. Skips, with the reason, only when the reference rules are absent.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, chmodSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipReason, startSensor, assertEcsValid, type LiveSensor } from './harness.js';
import { packageRoot } from '../../src/sources/kernel/paths.js';

const RULES = join(packageRoot, '..', 'shared', 'reference', 'elastic-detection-rules', 'rules');
const skip = skipReason() || (existsSync(RULES) ? false : `no reference rules at ${RULES}`);

/** behaviour → the Elastic rule that must fire on it */
const EXPECTED: Record<string, string> = {
  'reverse shell': 'linux/execution_shell_via_background_process.toml',
  'curl | sh': 'linux/execution_payload_downloaded_by_curl_wget_and_piped_to_interpreter.toml',
  'cron persistence': 'linux/persistence_cron_job_creation.toml',
  'SUID bit set': 'cross-platform/privilege_escalation_setuid_setgid_bit_set_via_chmod.toml',
  'shell history deleted': 'cross-platform/defense_evasion_deletion_of_bash_command_line_history.toml',
  'LD_PRELOAD in the environment': 'linux/defense_evasion_unusual_preload_env_vars.toml',
  'HISTFILE=/dev/null in the environment': 'linux/defense_evasion_shell_history_clearing_via_environment_variables.toml',
  'curl through a SOCKS proxy from the environment': 'linux/command_and_control_curl_socks_proxy_detected.toml',
};

describe('Elastic prebuilt rules on live documents', { skip }, () => {
  let sensor: LiveSensor;
  let results: Array<{ rule: string; class: string; reason: string; fired: boolean }> = [];
  let dir = '';
  let leader = 0;

  before(async () => {
    sensor = await startSensor();
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'ebpf-sensor-elastic-')));
    chmodSync(dir, 0o755);
    const marker = `elastic-behaviours-done-${process.pid}`;
    // In a session of its own, as a login or a service is: the test runner's own
    // session is whatever CI gave it (possibly the kernel's initial one, sid 0,
    // which has no leader process to report).
    const run = spawnSync('setsid', ['bash', join(packageRoot, 'test/kernel/elastic-behaviours.sh'), dir, marker], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(run.status, 0, run.stderr);
    leader = run.pid ?? 0;
    await sensor.waitFor((d) => d.process?.args?.includes(marker), 30_000, 'the behaviours marker');
    assert.equal(await sensor.stop(), 0);
    const out = join(dir, 'results.json');
    const names = Object.values(EXPECTED).map((f) => f.split('/').pop()!);
    const check = spawnSync('sh', [join(packageRoot, 'bench/elastic-compat/check.sh'), '--docs', sensor.outFile, '--json', out, ...names.flatMap((n) => ['--rule', n])], {
      encoding: 'utf8',
      timeout: 600_000,
    });
    assert.equal(check.status, 0, `${check.stdout}\n${check.stderr}`);
    results = (JSON.parse(readFileSync(out, 'utf8')) as { results: typeof results }).results;
  });

  after(async () => {
    if (sensor && sensor.proc.exitCode === null) await sensor.stop();
  });

  for (const [behaviour, rule] of Object.entries(EXPECTED)) {
    test(`${behaviour}: ${rule} fires`, () => {
      const r = results.find((x) => x.rule === rule);
      assert.ok(r, `${rule} evaluated`);
      assert.equal(r.class, 'WORKS', r.reason);
      assert.equal(r.fired, true, `${rule} did not match any of ${sensor.docs().length} documents`);
    });
  }

  test('process.env_vars: the exec run with LD_PRELOAD carries it, as the kernel read it from the new image', () => {
    const docs = sensor.docs();
    const preload = `LD_PRELOAD=${dir}/preload.so`;
    const exec = docs.find((d) => d.event?.action === 'exec' && d.process?.env_vars?.includes(preload));
    assert.ok(exec, `an exec with ${preload} in process.env_vars`);
    assert.equal(exec.process.name, 'id');
    // only allow-listed variables: the behaviours' own PATH, HOME, … are never captured
    for (const d of docs) for (const v of d.process?.env_vars ?? []) assert.doesNotMatch(v, /^(PATH|HOME|PWD|SHLVL)=/, `${v} captured`);
  });

  test('the documents are ECS-valid and carry the Session View fields', () => {
    const docs = sensor.docs();
    assertEcsValid(docs);
    // the behaviours' own execs (their script works in `dir`); other processes of
    // the machine may sit in the kernel's initial session and have no leader
    const execs = docs.filter((d) => d.event?.action === 'exec' && d.process?.working_directory === dir);
    assert.ok(execs.length >= 5, `execs of the behaviours: ${execs.length}`);
    for (const d of execs) {
      const what = `${d.process.executable} (pid ${d.process.pid})`;
      assert.equal(d.process.session_leader?.pid, leader, `session leader of ${what}`);
      assert.equal(d.process.session_leader?.executable?.endsWith('/bash'), true, `session leader image of ${what}`);
      assert.equal(typeof d.process.group_leader?.pid, 'number', `group leader of ${what}`);
      assert.ok(d.process.entry_leader?.entry_meta?.type, `an entry leader with its type for ${what}`);
    }
    assert.ok(execs.some((d) => d.process.previous?.executable), 'process.previous on exec');
    assert.ok(docs.some((d) => d.process.thread?.capabilities?.effective?.includes('CAP_SYS_ADMIN')), 'capabilities of root');
  });
});
