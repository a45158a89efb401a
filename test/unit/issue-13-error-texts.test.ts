// issue 13, error texts: a rule load with several problems names each one's
// location once (its summary line names none: it used to repeat the first
// problem's location in front of the summary), and an error found when the
// config is validated again after EBPF_SENSOR_* overrides names the variable
// that caused it, not the config file (valid without it).
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SensorError } from '../../src/errors.js';
import { loadRules } from '../../src/rules/engine.js';
import { loadConfig } from '../../src/config/config.js';

const dir = mkdtempSync(join(tmpdir(), 'error-texts-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('loadRules with several problems: the summary names no location, every problem names its own once', () => {
  const a = join(dir, 'a.yaml');
  const b = join(dir, 'b.yaml');
  writeFileSync(a, '- rule: one\n  desc: d\n  condition: process.name = x and and\n  output: o\n  severity: medium\n');
  writeFileSync(b, '- rule: two\n  desc: d\n  condition: process.name = (\n  output: o\n  severity: medium\n');
  let err: unknown;
  try {
    loadRules({ bundled: false, paths: [a, b] });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof SensorError, String(err));
  assert.equal(err.location, undefined, 'the summary carries no location of its own');
  const lines = String(err).split('\n');
  assert.match(lines[0]!, /^ESENSOR_RULE_\w+: 2 problems in the rules:$/);
  assert.equal(lines.length, 3);
  assert.match(lines[1]!, new RegExp(`^${a}:3:\\d+: ESENSOR_RULE_`));
  assert.match(lines[2]!, new RegExp(`^${b}:3:\\d+: ESENSOR_RULE_`));
  assert.equal(String(err).split(`${a}:`).length - 1, 1, `${a} named once`);
});

test('loadRules with one problem keeps its location', () => {
  const a = join(dir, 'c.yaml');
  writeFileSync(a, '- rule: one\n  desc: d\n  condition: process.name = x and and\n  output: o\n  severity: medium\n');
  assert.throws(
    () => loadRules({ bundled: false, paths: [a] }),
    (e: unknown) => e instanceof SensorError && e.file === a && e.line === 3 && !e.message.includes(a),
  );
});

test('an override that the second validation refuses names its EBPF_SENSOR_ variable, never the config file or the value', () => {
  const f = join(dir, 'config.yaml');
  writeFileSync(f, 'output:\n  format: ecs\n', { mode: 0o600 });
  let err: unknown;
  try {
    loadConfig(f, { EBPF_SENSOR_OUTPUT__FORMAT: 'hunter2-not-a-format' });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof SensorError, String(err));
  assert.equal(err.code, 'ESENSOR_CONFIG');
  assert.equal(err.file, 'env:EBPF_SENSOR_OUTPUT__FORMAT');
  assert.equal(err.field, 'output.format');
  assert.doesNotMatch(String(err), /config\.yaml/);
  assert.doesNotMatch(String(err), /hunter2/);
  // Without a config file too.
  assert.throws(
    () => loadConfig(undefined, { EBPF_SENSOR_OUTPUT__FORMAT: 'nope' }),
    (e: unknown) => e instanceof SensorError && e.file === 'env:EBPF_SENSOR_OUTPUT__FORMAT' && !/\(defaults\)/.test(String(e)),
  );
  // A problem in the file itself still names the file.
  writeFileSync(f, 'output:\n  format: nope\n', { mode: 0o600 });
  assert.throws(() => loadConfig(f, {}), (e: unknown) => e instanceof SensorError && e.file === f && e.line === 2);
});
