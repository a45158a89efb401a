// issue 15, point 7: the loss event's process.real_user is the sensor's real
// uid, not its effective uid. Run as root, the test makes the two differ
// (seteuid) while the loss is reported.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Enricher } from '../../src/enrich/enrich.js';
import { NullClassifier } from '../../src/rules/classifier.js';
import { createLogger } from '../../src/telemetry/logger.js';
import type { ClassifiedEvent } from '../../src/model/event.js';
import { HOST } from '../helpers/normalize-corpus.js';

const root = process.getuid?.() === 0;

test('the loss event names the real uid as real_user and the effective uid as user', { skip: root ? false : 'needs root to make the real and effective uids differ' }, async () => {
  const out: ClassifiedEvent[] = [];
  let lost = { kernel: 0, reader: 0, perCpu: [0] };
  const p = new Pipeline({
    source: { name: 'fake', start: async () => {}, stop: async () => {} },
    decode: { bootToRealtimeNs: 0n, bootIdPrefix: 'feedface', sequence: 0 },
    enricher: new Enricher({ hostId: 'h', seedFromProc: false, resolveContainers: false, resolveNames: false }),
    classifier: new NullClassifier(),
    output: { append: (b) => void out.push(...b), close: async () => {} },
    log: createLogger({ level: 'silent' }),
    host: HOST,
    events: 'all',
    lossProbe: () => lost,
    lossReportSeconds: 3600,
  });
  await p.start();
  lost = { kernel: 4, reader: 0, perCpu: [4] };
  process.seteuid!(65534);
  try {
    p.reportLoss();
  } finally {
    process.seteuid!(0);
  }
  await p.stop();
  assert.equal(out.length, 1);
  const ev = out[0]!.event;
  assert.equal(ev.ebpf.kind, 'loss');
  assert.equal(ev.process.real_user?.id, '0');
  assert.equal(ev.process.user?.id, '65534');
  assert.equal(ev.user?.id, '65534');
});
