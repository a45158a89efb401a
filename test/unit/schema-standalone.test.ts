// The JSON Schema validators the build writes as ajv standalone code (src/model/schemas.ts,
// scripts/gen-validators.mjs): the build wrote one for every declared validator, each judges
// like the validator ajv compiles at run time (same verdicts, same errors, same defaults filled
// in), and a module made from another schema text is never picked.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { compileValidator, declaredValidators, standalonePath } from '../../src/model/schemas.js';
import '../../src/config/config.js';
import '../../src/rules/source.js';
import '../../src/rules/fixtures.js';
import '../../src/sources/replay/capture-checks.js';

const require = createRequire(import.meta.url);

/** Inputs valid and not: empty and wrong shapes, unknown keys, wrong types, the bundled files' kinds of items. */
const INPUTS: unknown[] = [
  {},
  [],
  null,
  'text',
  42,
  { bogus: 1 },
  { outputs: 'file' },
  { outputs: [{ type: 'file', path: '/tmp/x' }] },
  { outputs: [{ type: 'kafka', brokers: 'nope' }], rules: { paths: [7] } },
  { log: { level: 'loud' } },
  [{ rule: 'x', desc: 'd', condition: 'a = 1', output: 'o', severity: 'high' }],
  [{ rule: 'x', severity: 'urgent', bogus: true }, { list: 'l', items: 'no' }, { macro: 'm' }, 5],
  [{ list: 'l', items: ['a'], override: { items: 'append' } }, { macro: 'm', condition: 'x', override: { condition: 'merge' } }],
  { format: 'ebpf-sensor-capture', version: 1 },
  { kind: 'exec', ts: 'x', pid: -1 },
  { fixtures: [{ event: {}, expect: [] }] },
];

describe('standalone schema validators', () => {
  test('the build wrote one per declared validator, and it judges like ajv compiling the schema', () => {
    assert.ok(declaredValidators.length >= 5);
    for (const d of declaredValidators) {
      const text = readFileSync(d.file, 'utf8');
      const path = standalonePath(d, text);
      assert.ok(existsSync(path), `${basename(path)} (npm run build writes it)`);
      const standalone = require(path) as ValidateFunction;
      const compiled = compileValidator(d, text).validate;
      for (const input of INPUTS) {
        const a = structuredClone(input);
        const b = structuredClone(input);
        const va = standalone(a);
        const vb = compiled(b);
        assert.equal(va, vb, `${basename(d.file)} ${JSON.stringify(input)}`);
        assert.deepEqual(standalone.errors ?? null, compiled.errors ?? null, `${basename(d.file)} ${JSON.stringify(input)}`);
        assert.deepEqual(a, b, 'defaults filled in alike');
      }
    }
  });

  test('a changed schema, other options or another definition name another module', () => {
    const d = declaredValidators.find((x) => basename(x.file) === 'config.schema.json')!;
    const text = readFileSync(d.file, 'utf8');
    const path = standalonePath(d, text);
    const changed = text.replace('"additionalProperties": false', '"additionalProperties": true');
    assert.notEqual(changed, text);
    assert.notEqual(standalonePath(d, changed), path);
    assert.equal(existsSync(standalonePath(d, changed)), false);
    assert.notEqual(standalonePath({ ...d, opts: { ...d.opts, useDefaults: false } }, text), path);
    assert.notEqual(standalonePath({ ...d, definition: 'other' }, text), path);
  });
});
