#!/usr/bin/env node
// Runs the test suites with node's built-in runner (node:test) on the compiled
// tests in dist/test/. Suites: unit (no root, no network), kernel (root + BTF:
// real programs, real syscalls), integration (real Kafka, Elasticsearch and
// rsyslog started by test/services/). `all` runs them in that order and fails
// when any test fails. Extra arguments are passed to node --test.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [which = 'all', ...extra] = process.argv.slice(2);
const suites = which === 'all' ? ['unit', 'kernel', 'integration'] : [which];

function files(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (e.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

let failed = false;
for (const suite of suites) {
  if (!['unit', 'kernel', 'integration'].includes(suite)) {
    console.error(`unknown suite ${suite}: unit | kernel | integration | all`);
    process.exit(2);
  }
  const list = files(join(root, 'dist/test', suite));
  if (!list.length) {
    console.log(`# suite ${suite}: no tests`);
    continue;
  }
  console.log(`\n# ===== suite: ${suite} (${list.length} files) =====`);
  // Kernel and integration tests share machine-wide state (BPF programs,
  // server processes): run their files one at a time.
  const concurrency = suite === 'unit' ? [] : ['--test-concurrency=1'];
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...concurrency, ...extra, ...list], {
    stdio: 'inherit',
    cwd: root,
    env: { ...process.env, EBPF_SENSOR_LOG_LEVEL: process.env.EBPF_SENSOR_LOG_LEVEL ?? 'warn' },
  });
  if (r.status !== 0) {
    failed = true;
    console.log(`# suite ${suite}: FAILED (exit ${r.status})`);
  } else {
    console.log(`# suite ${suite}: passed`);
  }
}
process.exit(failed ? 1 : 0);
