import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { SensorError } from '../../src/errors.js';

function tmpFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-cfg-'));
  const f = join(dir, 'sensor.yaml');
  writeFileSync(f, text, { mode: 0o600 });
  chmodSync(f, 0o600);
  return f;
}

test('defaults come from the schema and the result is frozen', () => {
  const cfg = loadConfig(undefined, {});
  assert.equal(cfg.output.target, 'stdout');
  assert.equal(cfg.output.format, 'ecs');
  assert.equal(cfg.kernel.ringBytes, 8 << 20);
  assert.equal(cfg.rules.bundled, true);
  assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.kernel));
});

test('an unknown key is reported with file, line, column and the dotted field', () => {
  const f = tmpFile('output:\n  format: ecs\n  colour: red\n');
  assert.throws(
    () => loadConfig(f, {}),
    (e: unknown) => {
      assert.ok(e instanceof SensorError);
      assert.equal(e.code, 'ESENSOR_CONFIG');
      assert.equal(e.field, 'output.colour');
      assert.equal(e.line, 3);
      assert.equal(e.column, 3);
      assert.match(String(e), new RegExp(`${f}:3:3: unknown key "output.colour"`));
      return true;
    },
  );
});

test('a wrong value names the field and the allowed values', () => {
  const f = tmpFile('kernel:\n  pollMs: 5\noutput:\n  format: xml\n');
  assert.throws(
    () => loadConfig(f, {}),
    (e: unknown) => e instanceof SensorError && e.field === 'output.format' && e.line === 4 && /must be one of "ecs", "cef"/.test(e.message),
  );
});

test('invalid YAML is reported with its position', () => {
  const f = tmpFile('output:\n  format: [ecs\n');
  assert.throws(() => loadConfig(f, {}), (e: unknown) => e instanceof SensorError && e.line !== undefined && /invalid YAML/.test(e.message));
});

test('environment overrides apply and are validated', () => {
  const cfg = loadConfig(undefined, { EBPF_SENSOR_OUTPUT__FORMAT: 'cef', EBPF_SENSOR_KERNEL__POLLMS: '25' });
  assert.equal(cfg.output.format, 'cef');
  assert.equal(cfg.kernel.pollMs, 25);
  assert.throws(() => loadConfig(undefined, { EBPF_SENSOR_KERNEL__POLLMS: 'fast' }), /not a valid integer/);
  assert.throws(() => loadConfig(undefined, { EBPF_SENSOR_OUTPUT__COLOUR: 'red' }), /no key "COLOUR"/);
  assert.throws(() => loadConfig(undefined, { EBPF_SENSOR_KERNEL__POLLMS: '0' }), (e: unknown) => e instanceof SensorError && /pollMs/.test(e.message));
});

test('a config file others can write is refused when running as root', { skip: process.geteuid?.() !== 0 ? 'only enforced for root' : false }, () => {
  const f = tmpFile('output:\n  format: ecs\n');
  chmodSync(f, 0o666);
  assert.throws(() => loadConfig(f, {}), (e: unknown) => e instanceof SensorError && e.code === 'ESENSOR_CONFIG_UNSAFE');
});
