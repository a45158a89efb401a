// issue-12: scripts/test.js fails a suite that compiled to no test files
// (a build that did not run must not look like a green run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/sources/kernel/paths.js';

/** Without NODE_TEST_CONTEXT: the child runs as a test runner of its own, not as a subprocess of this one. */
function freshEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

function fakeTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'test-runner-'));
  mkdirSync(join(root, 'scripts'));
  copyFileSync(join(packageRoot, 'scripts/test.js'), join(root, 'scripts/test.js'));
  writeFileSync(join(root, 'package.json'), '{"type":"module"}\n');
  mkdirSync(join(root, 'dist/test/unit'), { recursive: true });
  return root;
}

test('issue-12: a suite with no compiled test files fails the run', (t) => {
  const root = fakeTree();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const r = spawnSync(process.execPath, [join(root, 'scripts/test.js'), 'unit'], { encoding: 'utf8', env: freshEnv() });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /suite unit: FAILED \(no test files/);
});

test('issue-12: the same tree with one passing test file passes', (t) => {
  const root = fakeTree();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'dist/test/unit/ok.test.js'), "import { test } from 'node:test';\ntest('ok', () => {});\n");
  const r = spawnSync(process.execPath, [join(root, 'scripts/test.js'), 'unit'], { encoding: 'utf8', env: freshEnv() });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /suite unit: passed/);
});
