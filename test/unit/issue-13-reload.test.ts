// issue 13: a kernel filter update that fails on rule reload must not leave
// the new ruleset running in user space while the kernel keeps the old kill
// rules. onLoad throwing (run.ts throws ESENSOR_BPF_MAP after putting the
// previous filter back) refuses the new ruleset: the previous one stays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SensorError } from '../../src/errors.js';
import type { RuleEngine } from '../../src/rules/engine.js';
import { RuleReloader } from '../../src/rules/reloader.js';
import { componentLogger } from '../../src/telemetry/logger.js';

const rule = (cond: string): string => `- rule: r\n  desc: r\n  condition: ${cond}\n  output: x\n  severity: high\n`;

test('issue-13-reload: a ruleset whose kernel update fails is refused; the previous one stays in user space', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-issue13-reload-'));
  const f = join(dir, 'site.yaml');
  writeFileSync(f, rule('ebpf.kind = open and file.path = /etc/a'));
  let kernelFull = false;
  const installed: string[] = [];
  const r = new RuleReloader({
    sources: { bundled: false, paths: [f] },
    watch: false,
    log: componentLogger('test'),
    onLoad: (engine: RuleEngine) => {
      if (kernelFull) throw new SensorError('ESENSOR_BPF_MAP', 'kill_exact: no space left (E2BIG)', { retriable: true });
      installed.push(engine.version);
    },
  });
  const first = r.start();
  writeFileSync(f, rule('ebpf.kind = open and file.path = /etc/b'));
  kernelFull = true;
  assert.equal(r.reload('test'), false);
  assert.equal(r.engine, first, 'the previous ruleset still classifies');
  assert.equal(r.stats.failures, 1);
  assert.match(r.stats.lastError ?? '', /no space left/);
  kernelFull = false;
  assert.equal(r.reload('test'), true);
  assert.notEqual(r.engine, first);
  assert.equal(installed.length, 2);
});
