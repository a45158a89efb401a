// docs/errors.md lists every error code, and nothing else.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES } from '../../src/errors.js';
import { packageRoot } from '../../src/sources/kernel/paths.js';

test('docs/errors.md and ERROR_CODES list the same codes', () => {
  const doc = readFileSync(join(packageRoot, 'docs/errors.md'), 'utf8');
  const documented = new Set([...doc.matchAll(/^\|\s*`(ESENSOR_[A-Z_]+)`/gm)].map((m) => m[1]));
  const defined = new Set(Object.keys(ERROR_CODES));
  assert.deepEqual([...documented].sort(), [...defined].sort());
});

test('every code thrown in src/ and native/ is defined', () => {
  const used = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|c)$/.test(e)) for (const m of readFileSync(p, 'utf8').matchAll(/['"](ESENSOR_[A-Z_]+)['"]/g)) used.add(m[1]!);
    }
  };
  walk(join(packageRoot, 'src'));
  walk(join(packageRoot, 'native/src'));
  for (const c of used) assert.ok(c in ERROR_CODES, `${c} is used but not defined in src/errors.ts`);
});
