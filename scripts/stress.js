#!/usr/bin/env node
// Runs test suites N times in a row, optionally under load, and prints how
// often each test failed: the check that the suite passes every time, not
// just once (issue-12).
//
//   npm run test:stress -- --runs 3 [--load] [--suites unit,kernel,integration]
//
// Takes: --runs N (default 3); --load: one CPU hog per core for the whole
// stress run (plain busy loops, stopped by PID at the end, also on Ctrl-C or
// a failure); --suites (default unit,kernel,integration). Each suite runs
// through scripts/test.js with a TAP report next to it; with
// EBPF_SENSOR_TEST_LOCK=1 the kernel and integration suites run under
// flock /tmp/ebpf-sensor-<suite>.lock (held only for that suite), as on a
// machine shared with other test runs.
// Gives: a table of the tests that failed at least once (failures / runs) and
// exit 1 when any did, or when a suite failed outside any test.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = 'usage: node scripts/stress.js [--runs N] [--load] [--suites unit,kernel,integration]';

function parseArgs(argv) {
  const o = { runs: 3, load: false, suites: ['unit', 'kernel', 'integration'] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') o.runs = Number(argv[++i]);
    else if (a.startsWith('--runs=')) o.runs = Number(a.slice(7));
    else if (a === '--load') o.load = true;
    else if (a === '--suites') o.suites = String(argv[++i]).split(',');
    else if (a.startsWith('--suites=')) o.suites = a.slice(9).split(',');
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else {
      console.error(`unknown argument ${a}\n${USAGE}`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(o.runs) || o.runs < 1) {
    console.error(`--runs must be a positive integer\n${USAGE}`);
    process.exit(2);
  }
  for (const s of o.suites) {
    if (!['unit', 'kernel', 'integration'].includes(s)) {
      console.error(`unknown suite ${s}\n${USAGE}`);
      process.exit(2);
    }
  }
  return o;
}

/**
 * Failed leaf tests of a node:test TAP report, as "file › describe › test".
 * A parent that failed because a child did is not counted again; a test
 * file that failed outside any test (an import error) is counted by name.
 */
export function failedTests(tap) {
  const out = [];
  const names = [];
  const hasChildren = [];
  let pending; // a `not ok` whose YAML block may name its file
  const flush = () => {
    if (pending) out.push(pending.file ? `${pending.file} › ${pending.path}` : pending.path);
    pending = undefined;
  };
  for (const line of tap.split('\n')) {
    const indent = line.length - line.trimStart().length;
    const level = Math.floor(indent / 4);
    const text = line.trim();
    let m;
    if ((m = /^# Subtest: (.*)$/.exec(text))) {
      flush();
      names.length = level;
      names[level] = m[1];
      hasChildren[level] = false;
      if (level > 0) hasChildren[level - 1] = true;
      hasChildren.length = level + 1;
    } else if ((m = /^(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO).*)?$/.exec(text))) {
      flush();
      if (m[1] === 'not ok' && !m[3] && !hasChildren[level]) {
        const path = [...names.slice(0, level), m[2]].filter((n) => n !== undefined);
        pending = { path: path.map((n) => (n.includes('/') && n.endsWith('.js') ? basename(n) : n)).join(' › '), file: undefined };
      }
    } else if (pending && (m = /^location: '(.*?):\d+:\d+'$/.exec(text))) {
      const file = basename(m[1]);
      if (!pending.path.startsWith(file)) pending.file = file;
    } else if (pending && text === '...') {
      flush();
    }
  }
  flush();
  return out;
}

function startLoad() {
  const n = availableParallelism();
  const hogs = [];
  for (let i = 0; i < n; i++) {
    hogs.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  }
  console.log(`# load: ${n} CPU hog(s), pids ${hogs.map((h) => h.pid).join(' ')}`);
  return hogs;
}

function stopLoad(hogs) {
  for (const h of hogs) {
    if (h.exitCode === null && h.signalCode === null) {
      try {
        process.kill(h.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

function runSuite(suite, tapFile) {
  const lock = process.env.EBPF_SENSOR_TEST_LOCK && suite !== 'unit' ? `/tmp/ebpf-sensor-${suite}.lock` : undefined;
  const cmd = lock ? 'flock' : process.execPath;
  const args = lock ? [lock, process.execPath, join(root, 'scripts/test.js'), suite] : [join(root, 'scripts/test.js'), suite];
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env: { ...process.env, EBPF_SENSOR_TEST_TAP: tapFile } });
  return { status: r.status, signal: r.signal, seconds: (Date.now() - t0) / 1000 };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-stress-'));
  /** test → failures */
  const failures = new Map();
  /** "suite run k: exit N" for a suite that failed without a failed test to show for it */
  const suiteProblems = [];
  const durations = [];
  let hogs = [];
  let interrupted = false;
  const stop = () => {
    interrupted = true;
    stopLoad(hogs);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, stop);
  process.on('exit', () => stopLoad(hogs));
  try {
    if (o.load) hogs = startLoad();
    for (let run = 1; run <= o.runs && !interrupted; run++) {
      for (const suite of o.suites) {
        if (interrupted) break;
        console.log(`\n# ===== stress run ${run}/${o.runs}: ${suite}${o.load ? ' (under load)' : ''} =====`);
        const tapFile = join(dir, `${suite}-${run}.tap`);
        const r = runSuite(suite, tapFile);
        const tap = existsSync(tapFile) ? readFileSync(tapFile, 'utf8') : '';
        // The last summary line is the run's own: a test's output may hold TAP of nested runs before it.
        const count = (what) => Number([...tap.matchAll(new RegExp(`^# ${what} (\\d+)$`, 'gm'))].pop()?.[1] ?? 0);
        durations.push(`${suite} run ${run}: ${r.seconds.toFixed(0)} s, exit ${r.status ?? r.signal}; tests ${count('tests')}, pass ${count('pass')}, fail ${count('fail')}, skipped ${count('skipped')}`);
        if (r.signal) interrupted = true;
        const failed = failedTests(tap);
        for (const t of failed) {
          const key = `${suite}: ${t}`;
          failures.set(key, (failures.get(key) ?? 0) + 1);
        }
        if (r.status !== 0 && failed.length === 0) suiteProblems.push(`${suite} run ${run}: suite failed (exit ${r.status ?? r.signal}) with no failed test; see its output`);
      }
    }
  } finally {
    stopLoad(hogs);
  }
  console.log(`\n# ===== stress summary: ${o.runs} run(s) of ${o.suites.join(',')}${o.load ? ', under load' : ''} =====`);
  for (const d of durations) console.log(`# ${d}`);
  if (failures.size === 0 && suiteProblems.length === 0) {
    console.log(`# no test failed in ${o.runs} run(s)`);
  } else {
    const rows = [...failures].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const width = Math.max(4, ...rows.map(([k]) => k.length));
    console.log(`| ${'test'.padEnd(width)} | failed |`);
    console.log(`| ${'-'.repeat(width)} | ------ |`);
    for (const [k, n] of rows) console.log(`| ${k.padEnd(width)} | ${`${n}/${o.runs}`.padStart(6)} |`);
    for (const p of suiteProblems) console.log(`# ${p}`);
  }
  if (!failures.size && !suiteProblems.length) rmSync(dir, { recursive: true, force: true });
  else console.log(`# TAP reports kept in ${dir}`);
  process.exitCode = interrupted ? 130 : failures.size || suiteProblems.length ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
