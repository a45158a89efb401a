// issue-12: scripts/stress.js counts failures per test from node:test's TAP
// report: leaf tests named with their file and describe blocks, skips and
// parents of failed children not counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../src/sources/kernel/paths.js';

const { failedTests } = (await import(pathToFileURL(join(packageRoot, 'scripts/stress.js')).href)) as { failedTests: (tap: string) => string[] };

/** Without NODE_TEST_CONTEXT: the child runs as a test runner of its own, not as a subprocess of this one. */
function freshEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

test('issue-12: failed leaf tests of a real TAP report, by file and describe', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stress-tap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const body = [
    "import { describe, test } from 'node:test';",
    "describe('outer', () => { test('fine', () => {}); test('broken', () => { throw new Error('x'); }); });",
    "test('top broken', () => { throw new Error('y'); });",
    "test('skipped', { skip: 'no reason' }, () => {});",
  ].join('\n');
  writeFileSync(join(dir, 'a.test.mjs'), body);
  writeFileSync(join(dir, 'b.test.mjs'), "import { test } from 'node:test';\ntest('fine too', () => {});\n");
  const tap = join(dir, 'out.tap');
  spawnSync(process.execPath, ['--test', '--test-reporter=tap', `--test-reporter-destination=${tap}`, 'a.test.mjs', 'b.test.mjs'], { cwd: dir, env: freshEnv() });
  assert.deepEqual(failedTests(readFileSync(tap, 'utf8')).sort(), ['a.test.mjs › outer › broken', 'a.test.mjs › top broken']);
});

test('issue-12: a report with no failure gives no row', () => {
  assert.deepEqual(failedTests('TAP version 13\n# Subtest: x\nok 1 - x\n1..1\n'), []);
});
