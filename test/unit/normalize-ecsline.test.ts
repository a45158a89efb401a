// ecsLine (host/agent serialized once and spliced) writes exactly the bytes
// of ecsJson(toEcs(...)) for every kind, alerts, hostile strings and raw bytes.
import test from 'node:test';
import assert from 'node:assert/strict';
import { toEcs, ecsJson } from '../../src/normalize/ecs/ecs.js';
import { ecsLine } from '../../src/normalize/ecs/ecs-serializer.js';
import { corpus, HOST, AGENT } from '../helpers/normalize-corpus.js';
import type { HostInfo } from '../../src/model/event.js';

test('ecsLine equals ecsJson(toEcs()) byte for byte on the whole corpus', () => {
  for (const ce of corpus()) {
    assert.equal(ecsLine(ce, HOST, AGENT), ecsJson(toEcs(ce, HOST, AGENT)), `${ce.event.ebpf.kind} ${ce.verdict.classification}`);
  }
});

test('hostile values in the event, and a host name with raw bytes, still match', () => {
  const ce = structuredClone(corpus()[0]!);
  ce.event.process.args = ['x"process":{}', '\u2028', 'a\\b', '\udcff'];
  ce.event.process.command_line = ',"process":1';
  assert.equal(ecsLine(ce, HOST, AGENT), ecsJson(toEcs(ce, HOST, AGENT)));
  const rawHost: HostInfo = { ...HOST, name: 'host\udcfe', hostname: 'h\u2028x' };
  assert.equal(ecsLine(ce, rawHost, AGENT), ecsJson(toEcs(ce, rawHost, AGENT)));
  // and the cache follows a host change
  assert.equal(ecsLine(ce, HOST, AGENT), ecsJson(toEcs(ce, HOST, AGENT)));
});
