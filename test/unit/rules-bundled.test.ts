import test from 'node:test';
import assert from 'node:assert/strict';
import { buildRules, loadRules } from '../../src/rules/engine.js';
import { fixturePaths, loadFixtureFile, runFixture, type FixtureResult } from '../../src/rules/fixtures.js';
import { BUNDLED_RULES_DIR } from '../../src/rules/source.js';
import { kindFacts, specialize } from '../../src/rules/compiler.js';

const bundled = buildRules({ bundled: true, paths: [] });

test('the bundled rules load without a problem', () => {
  assert.deepEqual(bundled.errors.map((e) => e.toString()), []);
  assert.ok(bundled.engine && bundled.engine.rules.length >= 30);
});

test('every bundled rule has a description, a severity and a MITRE ATT&CK technique and tactic', () => {
  for (const r of bundled.engine!.rules) {
    assert.ok(r.description.length > 20, `${r.id} description`);
    assert.ok(r.tags.some((t) => /^T\d{4}(\.\d{3})?$/.test(t)), `${r.id} technique`);
    assert.ok(r.tags.some((t) => /^TA\d{4}$/.test(t)), `${r.id} tactic`);
    assert.ok(['low', 'medium', 'high', 'critical'].includes(r.severity));
  }
});

const results: FixtureResult[] = [];
for (const f of fixturePaths(BUNDLED_RULES_DIR)) {
  const ff = loadFixtureFile(f);
  const engine = loadRules({ bundled: true, paths: [], lists: ff.lists });
  const known = new Set(engine.rules.map((r) => r.id));
  for (const fx of ff.fixtures) results.push(runFixture(fx, engine, known));
}

test('every bundled fixture passes', () => {
  const failed = results.filter((r) => !r.pass).map((r) => `${r.fixture.file}:${r.fixture.line} ${r.fixture.name}: ${r.problem} (got ${r.got.join(',') || 'normal'})`);
  assert.deepEqual(failed, []);
  assert.ok(results.length >= 100);
});

test('every bundled rule has fixtures it must catch and fixtures of its families it must let pass', () => {
  for (const r of bundled.engine!.rules) {
    const caught = results.filter((x) => x.got.includes(r.id));
    const passed = results.filter((x) => r.kinds.has(x.fixture.event.ebpf.kind) && !x.got.includes(r.id));
    assert.ok(caught.length >= 1, `${r.id}: no fixture it catches`);
    // A rule that is its whole family (every tamper event) has nothing to let pass.
    const wholeFamily = [...r.kinds].every((k) => {
      const s = specialize(r.ir, kindFacts(k));
      return s.t === 'const' && s.value;
    });
    if (!wholeFamily) assert.ok(passed.length >= 1, `${r.id}: no fixture of its families it must not catch`);
  }
});

test('the bundled rules cover the attack areas of the issue', () => {
  const tags = new Set(bundled.engine!.rules.flatMap((r) => r.tags));
  // credential files, persistence (cron, systemd, profiles, ssh keys, preload, rc), privilege escalation,
  // log tampering, modules, BPF, reverse shells, execution from tmp/shm/memfd, ptrace, container escape, miners, tools, sensor.
  for (const t of ['T1098', 'T1003.008', 'T1053.003', 'T1543.002', 'T1546.004', 'T1098.004', 'T1574.006', 'T1037.004', 'T1548.001',
    'T1070.002', 'T1070.003', 'T1547.006', 'T1014', 'T1059.004', 'T1620', 'T1055.008', 'T1611', 'T1496', 'T1562.001']) {
    assert.ok(tags.has(t), t);
  }
});
