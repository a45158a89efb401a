import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ruleFiles } from '../../src/rules/engine.js';

const bin = join(import.meta.dirname, '../../../bin/ebpf-sensor.js');
const dir = mkdtempSync(join(tmpdir(), 'rules-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, EBPF_SENSOR_LOG_LEVEL: 'silent' } });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('rules lint: the bundled rules are clean (exit 0)', () => {
  const r = cli('rules', 'lint');
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /^ok: \d+ rules/m);
});

test('rules lint: every problem of a site file, with file:line:column, exit 1', () => {
  const f = join(dir, 'site.yaml');
  writeFileSync(f, '- rule: a\n  desc: d\n  condition: process.nme = x\n  output: o\n  severity: high\n- rule: b\n  desc: d\n  condition: nope\n  output: o\n  severity: high\n');
  const r = cli('rules', 'lint', f);
  assert.equal(r.status, 1);
  assert.ok(r.out.includes(`${f}:3:14: ESENSOR_RULE_SEMANTIC unknown field "process.nme"`), r.out);
  assert.ok(r.out.includes(`${f}:8:14: ESENSOR_RULE_SEMANTIC undefined macro "nope"`), r.out);
  // The bundled files plus the site file (issue-12: not a hard-coded count of bundled files).
  const files = ruleFiles({ bundled: true, paths: [] }).length + 1;
  assert.match(r.out, new RegExp(`2 problems in ${files} files`));
});

test('rules test: bundled fixtures pass (exit 0); a failing fixture gives a FAIL row and exit 1', () => {
  const ok = cli('rules', 'test');
  assert.equal(ok.status, 0, ok.out.slice(-2000));
  assert.match(ok.out, /^\d+ passed, 0 failed$/m);
  const f = join(dir, 'bad.fixtures.ndjson');
  writeFileSync(f, `${JSON.stringify({ name: 'rm auth.log is normal?', event: { 'ebpf.kind': 'unlink', 'file.path': '/var/log/auth.log', 'process.executable': '/usr/bin/rm' }, expect: 'normal' })}\n`);
  const bad = cli('rules', 'test', f);
  assert.equal(bad.status, 1);
  assert.match(bad.out, /FAIL\s+\S+bad\.fixtures\.ndjson:1\s+rm auth\.log is normal\?\s+log_file_removed_or_truncated\s+expected normal/);
  assert.match(bad.out, /^0 passed, 1 failed$/m);
});
