// The pipeline with a fake source and an in-memory output: decode → enrich →
// rules → output; alerts-only filtering; kernel losses become metric events.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Enricher } from '../../src/enrich/enrich.js';
import { NullClassifier, type Classifier } from '../../src/rules/classifier.js';
import { createLogger } from '../../src/telemetry/logger.js';
import type { Source, SourceBatch } from '../../src/sources/source.js';
import type { ClassifiedEvent, SensorEvent, Verdict } from '../../src/model/event.js';
import { EventType, Syscall } from '../../src/decode/abi.generated.js';
import { buildRecord, frames } from '../helpers/record-builder.js';
import { HOST } from '../helpers/normalize-corpus.js';

class FakeSource implements Source {
  readonly name = 'fake';
  emit: ((b: SourceBatch) => void) | undefined;
  stopped = false;
  async start(onBatch: (b: SourceBatch) => void): Promise<void> {
    this.emit = onBatch;
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
}

function setup(opts: { events: 'all' | 'alerts'; classifier?: Classifier; loss?: () => { kernel: number; reader: number; perCpu: number[] } }) {
  const source = new FakeSource();
  const out: ClassifiedEvent[] = [];
  let closed = false;
  const p = new Pipeline({
    source,
    decode: { bootToRealtimeNs: 0n, bootIdPrefix: 'feedface', sequence: 0 },
    enricher: new Enricher({ hostId: 'h', seedFromProc: false, resolveContainers: false, resolveNames: false }),
    classifier: opts.classifier ?? new NullClassifier(),
    output: {
      append: (b) => out.push(...b),
      close: async () => {
        closed = true;
      },
    },
    log: createLogger({ level: 'silent' }),
    host: HOST,
    events: opts.events,
    ...(opts.loss ? { lossProbe: opts.loss, lossReportSeconds: 3600 } : {}),
  });
  return { p, source, out, isClosed: () => closed };
}

const execRec = (pid: number, exe: string) => buildRecord({ type: EventType.SE_EV_EXEC, pid, args: [1, pid, 0, 0, 0, Syscall.SE_SC_EXECVE], strs: [exe, `${exe}\0`, '/', exe] });

test('frames from the source are decoded, enriched, classified and handed to the output', async () => {
  const { p, source, out, isClosed } = setup({ events: 'all' });
  await p.start();
  const { chunk, used } = frames([execRec(10, '/usr/bin/a'), execRec(11, '/usr/bin/b')]);
  source.emit!({ kind: 'frames', chunk, used, records: 2 });
  assert.equal(out.length, 2);
  assert.equal(out[0]!.event.process.executable, '/usr/bin/a');
  assert.ok(out[0]!.event.process.entity_id, 'enriched');
  assert.equal(out[0]!.verdict.classification, 'normal');
  assert.equal(p.stats.events, 2);
  await p.stop();
  assert.ok(source.stopped && isClosed());
});

test('alerts-only: normal events are not forwarded, suspicious ones are', async () => {
  const suspicious: Verdict = {
    classification: 'suspicious',
    matches: [{ id: 'r', name: 'R', description: 'd', severity: 'high', tags: [], message: 'm', ruleset: 'x', version: '1', action: 'alert' }],
  };
  const classifier: Classifier = { classify: (ev: SensorEvent) => (ev.process.executable === '/usr/bin/evil' ? suspicious : { classification: 'normal', matches: [] }) };
  const { p, source, out } = setup({ events: 'alerts', classifier });
  await p.start();
  const { chunk, used } = frames([execRec(10, '/usr/bin/ok'), execRec(11, '/usr/bin/evil')]);
  source.emit!({ kind: 'frames', chunk, used, records: 2 });
  assert.deepEqual(out.map((c) => c.event.process.executable), ['/usr/bin/evil']);
  assert.equal(p.stats.alerts, 1);
  await p.stop();
});

test('kernel losses become an event.kind metric event with per-CPU counts, never silent', async () => {
  let lost = { kernel: 0, reader: 0, perCpu: [0, 0] };
  const { p, out } = setup({ events: 'alerts', loss: () => lost });
  await p.start();
  p.reportLoss();
  assert.equal(out.length, 0, 'no loss, no event');
  lost = { kernel: 7, reader: 2, perCpu: [5, 2] };
  p.reportLoss();
  assert.equal(out.length, 1, 'the loss event passes even the alerts-only filter');
  const ev = out[0]!.event;
  assert.equal(ev.ebpf.kind, 'loss');
  assert.deepEqual(ev.ebpf.loss?.per_cpu, [5, 2]);
  assert.equal(ev.ebpf.loss?.kernel, 7);
  assert.equal(ev.ebpf.loss?.reader, 2);
  p.reportLoss();
  assert.equal(out.length, 1, 'reported once: counts are deltas');
  await p.stop();
});

test('issue-13-loss: reader stalls alone (the kernel lost nothing) raise no loss event', async () => {
  let lost = { kernel: 0, reader: 0, perCpu: [0, 0] };
  const { p, out } = setup({ events: 'all', loss: () => lost });
  await p.start();
  lost = { kernel: 0, reader: 5, perCpu: [0, 0] };
  p.reportLoss();
  assert.equal(out.length, 0, 'stalls keep their records: no loss event');
  lost = { kernel: 3, reader: 9, perCpu: [3, 0] };
  p.reportLoss();
  assert.equal(out.length, 1, 'a real kernel loss is reported');
  assert.equal(out[0]!.event.ebpf.loss?.kernel, 3);
  await p.stop();
});
