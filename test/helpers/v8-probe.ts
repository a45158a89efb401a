/**
 * test/helpers/v8-probe: run a probe script in its own node, where V8 itself
 * answers (optimization status, hidden classes), with no timing involved.
 *
 * Takes: the probe's source (an ES module; `process.argv[2]` is the package
 * root as a file URL ending in `/`, to import from `dist/`), and the test
 * context (the probe's directory is removed after the test).
 * Gives: the probe's stdout lines `key value` as a record; fails the test when
 * the probe exits non-zero (its stderr in the message).
 *
 * The probe runs with --allow-natives-syntax (`%GetOptimizationStatus`,
 * `%HaveSameMap`, …) and --single-threaded: with TurboFan and the GC on
 * background threads, a loaded machine changes when callees get compiled, and
 * a probe then sees deopts that are not the one it asks about.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TestContext } from 'node:test';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import { tempDir } from './replay-fixtures.js';

export function runV8Probe(t: TestContext, source: string): { answers: Record<string, string>; stdout: string } {
  const dir = tempDir('ebpf-sensor-v8-probe-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const probe = join(dir, 'probe.mjs');
  writeFileSync(probe, source);
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--single-threaded', probe, pathToFileURL(`${packageRoot}/`).href], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const answers = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(' ') as [string, string]));
  return { answers, stdout: r.stdout };
}
