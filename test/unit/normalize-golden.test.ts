// Golden files: the ECS and CEF output of one event and one alert of every
// kind, byte for byte. A change to the output formats shows up here as a
// diff to review; regenerate with UPDATE_GOLDEN=1 after checking it.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { toEcs, ecsJson } from '../../src/normalize/ecs/ecs.js';
import { toCef } from '../../src/normalize/cef/cef.js';
import { ecsLine } from '../../src/normalize/ecs/ecs-serializer.js';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import type { ClassifiedEvent } from '../../src/model/event.js';
import { corpus, HOST, AGENT } from '../helpers/normalize-corpus.js';

const dir = join(packageRoot, 'test/fixtures/normalize');

function sample(): ClassifiedEvent[] {
  const seen = new Set<string>();
  return corpus().filter((ce) => {
    const key = `${ce.event.ebpf.kind}/${ce.verdict.matches.length}`;
    if (ce.verdict.matches.length > 1 || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function golden(name: string, text: string): void {
  const file = join(dir, name);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, text);
  }
  const want = readFileSync(file, 'utf8').split('\n');
  const got = text.split('\n');
  for (let i = 0; i < Math.max(want.length, got.length); i++) assert.equal(got[i], want[i], `${name} line ${i + 1}`);
}

test('ECS output matches test/fixtures/normalize/ecs.golden.ndjson', () => {
  golden('ecs.golden.ndjson', sample().map((ce) => ecsJson(toEcs(ce, HOST, AGENT))).join('\n') + '\n');
});

test('issue-14: the ECS lines the sinks ship (ecsLine, cached fragments) match the same golden file, twice over (caches warm)', () => {
  for (let round = 0; round < 2; round++) {
    golden('ecs.golden.ndjson', sample().map((ce) => ecsLine(ce, HOST, AGENT)).join('\n') + '\n');
  }
});

test('CEF output matches test/fixtures/normalize/cef.golden.txt', () => {
  golden('cef.golden.txt', sample().map((ce) => toCef(ce, HOST, AGENT, { vendor: 'ebpf-sensor', product: 'ebpf-sensor' })).join('\n') + '\n');
});
