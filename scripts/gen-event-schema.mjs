#!/usr/bin/env node
// Generates schemas/event.schema.json from the canonical event type
// (src/model/event.ts: SensorEvent, and the types it re-exports: ClassifiedEvent
// from verdict.ts, …), so the JSON Schema
// never drifts from the TypeScript.   --check: exit 1 when the committed file differs.
import { createGenerator } from 'ts-json-schema-generator';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'schemas/event.schema.json');
const gen = createGenerator({
  path: join(root, 'src/model/event.ts'),
  tsconfig: join(root, 'tsconfig.json'),
  type: '*',
  expose: 'export',
  topRef: true,
  jsDoc: 'extended',
  additionalProperties: false,
  skipTypeCheck: true,
});
const schema = gen.createSchema('ClassifiedEvent');
const full = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://ebpf-sensor.dev/schemas/event.schema.json',
  title: 'ebpf-sensor canonical event',
  description:
    'GENERATED from src/model/event.ts by scripts/gen-event-schema.mjs. The canonical event (SensorEvent) every stage after decode passes, and the classified event (event + verdict) the journal stores. Capture files carry SensorEvent records.',
  oneOf: [{ $ref: '#/definitions/SensorEvent' }, { $ref: '#/definitions/ClassifiedEvent' }],
  definitions: schema.definitions,
};
const text = `${JSON.stringify(full, null, 2)}\n`;
if (process.argv.includes('--check')) {
  if (!existsSync(out) || readFileSync(out, 'utf8') !== text) {
    console.error(`${out} is out of date with src/model/event.ts: run node scripts/gen-event-schema.mjs`);
    process.exit(1);
  }
} else writeFileSync(out, text);
