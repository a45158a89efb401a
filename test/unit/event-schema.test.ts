// schemas/event.schema.json is generated from src/model/event.ts and every
// event the decoder produces (all kinds, alerts too) validates against it.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import { corpus, corpusKinds } from '../helpers/normalize-corpus.js';
import { EVENT_KINDS } from '../../src/model/event.js';

const schema = JSON.parse(readFileSync(join(packageRoot, 'schemas/event.schema.json'), 'utf8')) as Record<string, unknown>;

test('event.schema.json is current with src/model/event.ts', () => {
  execFileSync(process.execPath, ['scripts/gen-event-schema.mjs', '--check'], { cwd: packageRoot, stdio: 'pipe' });
});

test('every decoded event of every kind, and every classified event, validates', () => {
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validate = ajv.compile(schema);
  const list = corpus();
  assert.deepEqual([...corpusKinds(list)].sort(), [...EVENT_KINDS].sort(), 'the corpus covers every kind');
  for (const ce of list) {
    const round = JSON.parse(JSON.stringify(ce)) as unknown;
    assert.ok(validate(round), `${ce.event.ebpf.kind}: ${ajv.errorsText(validate.errors)}`);
    const ev = JSON.parse(JSON.stringify(ce.event)) as unknown;
    assert.ok(validate(ev), `${ce.event.ebpf.kind} (event only): ${ajv.errorsText(validate.errors)}`);
  }
});

test('the schema can fail: an unknown top-level field is refused', () => {
  const ajv = new Ajv({ strict: false });
  const validate = ajv.compile(schema);
  const ce = JSON.parse(JSON.stringify(corpus()[0]!.event)) as Record<string, unknown>;
  ce.invented_top_level = 1;
  assert.equal(validate(ce), false);
});
