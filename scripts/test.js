#!/usr/bin/env node
// Runs the test suites with node's built-in runner (node:test) on the compiled
// tests in dist/test/. Suites: unit (no root, no network), kernel (root + BTF:
// real programs, real syscalls), integration (real Kafka, Elasticsearch and
// rsyslog started by test/services/). `all` runs them in that order and fails
// when any test fails. Extra arguments are passed to node --test.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
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

// Integration suite: test/services starts real Kafka and Elasticsearch once
// for the whole suite, the test processes find them through the state file
// in EBPF_SENSOR_TEST_SERVICES, and they are always stopped by PID at the end
// (also when tests fail or on Ctrl-C; a run killed outright is cleaned up by
// the next start). A state file already in EBPF_SENSOR_TEST_SERVICES (services
// started by hand with dist/test/services/cli.js) is used as it is.
const servicesCli = join(root, 'dist/test/services/cli.js');
const ownServices = !process.env.EBPF_SENSOR_TEST_SERVICES;
const servicesState = process.env.EBPF_SENSOR_TEST_SERVICES || join(tmpdir(), `ebpf-sensor-services-${process.pid}.json`);
function services(...args) {
  return spawnSync(process.execPath, [servicesCli, ...args, '--state', servicesState], { stdio: 'inherit', cwd: root });
}
// Keep running on a signal: the suite's child gets it too and ends, then the
// services are stopped below before exiting.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => {});

let failed = false;
let interrupted = false;
for (const suite of suites) {
  if (interrupted) break;
  if (!['unit', 'kernel', 'integration'].includes(suite)) {
    console.error(`unknown suite ${suite}: unit | kernel | integration | all`);
    process.exit(2);
  }
  const list = files(join(root, 'dist/test', suite));
  if (!list.length) {
    // Not a pass: a suite that compiled to nothing (a build that did not run,
    // a tsconfig that stopped including test/) would hide every failure.
    failed = true;
    console.log(`# suite ${suite}: FAILED (no test files in dist/test/${suite}: run npm run build)`);
    continue;
  }
  console.log(`\n# ===== suite: ${suite} (${list.length} files) =====`);
  // Kernel and integration tests share machine-wide state (BPF programs,
  // server processes): run their files one at a time.
  const concurrency = suite === 'unit' ? [] : ['--test-concurrency=1'];
  const withServices = suite === 'integration' && ownServices;
  if (withServices) {
    const t0 = Date.now();
    const s = services('start', '--owner', String(process.pid));
    if (s.status !== 0) {
      failed = true;
      interrupted = s.signal !== null;
      console.log(`# suite ${suite}: FAILED (test services did not start, exit ${s.status ?? s.signal}; see above)`);
      services('stop', '--keep');
      continue;
    }
    console.log(`# test services started in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const t1 = Date.now();
  // EBPF_SENSOR_TEST_TAP=FILE: also write a TAP report there (scripts/stress.js counts failures per test from it).
  const tap = process.env.EBPF_SENSOR_TEST_TAP;
  const reporters = tap
    ? ['--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`]
    : ['--test-reporter=spec'];
  const r = spawnSync(process.execPath, ['--test', ...reporters, ...concurrency, ...extra, ...list], {
    stdio: 'inherit',
    cwd: root,
    env: {
      ...process.env,
      EBPF_SENSOR_LOG_LEVEL: process.env.EBPF_SENSOR_LOG_LEVEL ?? 'warn',
      ...(suite === 'integration' ? { EBPF_SENSOR_TEST_SERVICES: servicesState } : {}),
    },
  });
  if (r.signal !== null) interrupted = true;
  if (withServices) {
    // Keep data and logs of a failed run for a look (the path is printed).
    services('stop', ...(r.status !== 0 ? ['--keep'] : []));
  }
  console.log(`# suite ${suite}: ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  if (r.status !== 0) {
    failed = true;
    console.log(`# suite ${suite}: FAILED (exit ${r.status})`);
  } else {
    console.log(`# suite ${suite}: passed`);
  }
}
process.exit(interrupted ? 130 : failed ? 1 : 0);
