#!/usr/bin/env node
// Build step (scripts/setup.sh, after tsc): every JSON Schema validator the code declares
// (lazyValidator, src/model/schemas.ts) written once as ajv standalone code in
// dist/src/model/validators/, so a start loads it instead of compiling the schema again.
// Takes the compiled modules that declare validators and schemas/; gives the .cjs modules.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { VALIDATORS_DIR, compileValidator, declaredValidators, standalonePath } from '../dist/src/model/schemas.js';
// The modules that declare validators (each calls lazyValidator when loaded).
await import('../dist/src/config/config.js');
await import('../dist/src/rules/source.js');
await import('../dist/src/rules/fixtures.js');
await import('../dist/src/sources/replay/capture-checks.js');

mkdirSync(VALIDATORS_DIR, { recursive: true });
for (const f of readdirSync(VALIDATORS_DIR)) if (f.endsWith('.cjs')) rmSync(join(VALIDATORS_DIR, f));
for (const d of declaredValidators) {
  const text = readFileSync(d.file, 'utf8');
  const { ajv, validate } = compileValidator(d, text, { code: { source: true } });
  writeFileSync(standalonePath(d, text), standaloneCode.default(ajv, validate));
}
