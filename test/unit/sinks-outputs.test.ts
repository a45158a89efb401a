// Issue #7: the pipeline journals every classified batch and each sink reads
// it through its own delivery (outputs.ts, as `ebpf-sensor run` builds it).
// Backpressure: a dead sink only makes its cursor lag — the source's callback
// and the other sinks go on; when the journal's bound deletes what it never
// read, the loss is counted for that sink, reported as a loss event
// (event.kind metric) to every sink, and in the metrics.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type SensorConfig } from '../../src/config/config.js';
import { Outputs, buildSinks, loadConfiguredSinks } from '../../src/pipeline/outputs.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Enricher } from '../../src/enrich/enrich.js';
import { NdjsonSink } from '../../src/sinks/ndjson-sink.js';
import { SensorMetrics } from '../../src/telemetry/metrics.js';
import { componentLogger } from '../../src/telemetry/logger.js';
import type { SensorEvent, Verdict } from '../../src/model/event.js';
import type { Source, SourceBatch } from '../../src/sources/source.js';
import { lineFormatter } from '../../src/pipeline/outputs.js';
import { MemorySink, indexOf, sensorEvent, tempDir } from '../helpers/journal-fixtures.js';
import { AGENT, HOST } from '../helpers/normalize-corpus.js';

class TestSource implements Source {
  readonly name = 'test';
  private cb: ((b: SourceBatch) => void) | undefined;
  async start(onBatch: (b: SourceBatch) => void): Promise<void> {
    this.cb = onBatch;
  }
  async stop(): Promise<void> {
    this.cb = undefined;
  }
  /** What the pipeline's batch callback returned (it must not be a promise to wait on). */
  push(events: SensorEvent[]): unknown {
    return (this.cb as (b: SourceBatch) => unknown)({ kind: 'events', events });
  }
}

const ALERT: Verdict = {
  classification: 'suspicious',
  matches: [{ id: 'R7', name: 'every seventh', description: 'test', severity: 'high', tags: ['T1005'], message: 'seventh', ruleset: 'test', version: '1', action: 'alert' }],
};
const classifier = { classify: (ev: SensorEvent): Verdict => (ev.event.sequence % 7 === 0 ? ALERT : { classification: 'normal', matches: [] }) };

function cfgWith(env: Record<string, string>): Readonly<SensorConfig> {
  return loadConfig(undefined, { EBPF_SENSOR_LOG_LEVEL: 'silent', ...env });
}

function pipelineOver(outputs: Outputs, source: TestSource, events: 'all' | 'alerts' = 'all'): Pipeline {
  return new Pipeline({
    source,
    decode: { bootToRealtimeNs: 0n, bootIdPrefix: 'deadbeef', sequence: 0 },
    enricher: new Enricher({ hostId: HOST.id, seedFromProc: false, resolveContainers: false, resolveNames: false }),
    classifier,
    output: outputs,
    log: componentLogger('pipeline-test'),
    host: HOST,
    events,
  });
}

const docsOf = (file: string): Array<Record<string, any>> => // eslint-disable-line @typescript-eslint/no-explicit-any
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

test('the config decides the sinks: stdout by default; Kafka, Elasticsearch and syslog when configured; each with its own batch limits', async () => {
  assert.deepEqual(
    buildSinks(cfgWith({}), HOST, AGENT).map((s) => [s.name, s.kind, s.batch]),
    [['stdout', 'stdout', { count: 1000, bytes: 1048576, ms: 200 }]],
  );
  const allCfg = cfgWith({
      EBPF_SENSOR_OUTPUT__TARGET: 'file:/tmp/never-written.ndjson',
      EBPF_SENSOR_OUTPUT__ENABLED: 'false',
      EBPF_SENSOR_KAFKA__BROKERS: '["kafka:9092"]',
      EBPF_SENSOR_ELASTICSEARCH__NODE: 'http://elasticsearch:9200',
      EBPF_SENSOR_SYSLOG__ENABLED: 'true',
      EBPF_SENSOR_SYSLOG__TRANSPORT: 'tcp',
      EBPF_SENSOR_KAFKA__BATCH: '{"count":7,"bytes":4096,"ms":9}',
  });
  // Kafka and Elasticsearch modules are loaded only when configured (issue-14: idle RSS).
  assert.throws(() => buildSinks(allCfg, HOST, AGENT), /not loaded/);
  await loadConfiguredSinks(allCfg);
  const all = buildSinks(allCfg, HOST, AGENT);
  assert.deepEqual(
    all.map((s) => [s.name, s.kind]),
    [
      ['kafka', 'kafka'],
      ['elasticsearch', 'elasticsearch'],
      ['syslog:tcp://127.0.0.1:6514', 'syslog'],
    ],
  );
  assert.deepEqual(all[0]!.batch, { count: 7, bytes: 4096, ms: 9 });
  assert.deepEqual(all[1]!.batch, { count: 1000, bytes: 4194304, ms: 100 });
  for (const s of all) await s.sink.close();
});

test('the pipeline journals classified batches and the file sink gets them through its delivery; alerts-only keeps loss reports', async () => {
  const { dir, cleanup } = tempDir('outputs-pipe-');
  try {
    const file = join(dir, 'out.ndjson');
    const cfg = cfgWith({ EBPF_SENSOR_JOURNAL__DIR: join(dir, 'journal'), EBPF_SENSOR_OUTPUT__TARGET: `file:${file}`, EBPF_SENSOR_OUTPUT__BATCH: '{"count":100,"bytes":1048576,"ms":20}' });
    const outputs = Outputs.open({ config: cfg, host: HOST, agent: AGENT });
    const source = new TestSource();
    const pl = pipelineOver(outputs, source, 'alerts');
    outputs.start((loss) => pl.reportDeliveryLoss(loss));
    await pl.start();
    for (let b = 0; b < 10; b++) source.push(Array.from({ length: 70 }, (_, i) => sensorEvent(b * 70 + i)));
    pl.reportDeliveryLoss({ sink: 'kafka', reason: 'retention', from: 10, to: 25, count: 15 });
    await pl.stop();
    const docs = docsOf(file);
    const alerts = docs.filter((d) => d.event.kind === 'alert');
    assert.equal(alerts.length, 100, 'every seventh of 700 events, alerts only');
    assert.deepEqual(
      alerts.map((d) => Number(d.event.id.slice(3))),
      Array.from({ length: 100 }, (_, i) => i * 7),
    );
    const [gap] = docs.filter((d) => d.event.kind === 'metric');
    assert.ok(gap, 'the loss report passed the alerts-only pipeline');
    assert.deepEqual(gap.ebpf.loss, { kernel: 0, reader: 0, interval_s: 0, sink: 'kafka', reason: 'retention', count: 15, from: 10, to: 25 });
    assert.equal(gap.event.id, 'deadbeefgap-kafka-retention-10-25', 'a repeated report of the same gap is the same document');
    assert.equal(gap.event.action, 'events-lost');
    assert.equal(pl.stats.lossEvents, 1);
    assert.equal(docs.length, 101);
  } finally {
    cleanup();
  }
});

test('backpressure: a dead sink lags without holding up the source or the other sink; journal retention costs it events, counted, reported as an event and a metric', async () => {
  const { dir, cleanup } = tempDir('outputs-dead-');
  try {
    const file = join(dir, 'out.ndjson');
    const cfg = cfgWith({
      EBPF_SENSOR_JOURNAL__DIR: join(dir, 'journal'),
      EBPF_SENSOR_JOURNAL__MAXBYTES: String(1 << 20),
      EBPF_SENSOR_JOURNAL__SEGMENTBYTES: String(64 << 10),
      EBPF_SENSOR_JOURNAL__FSYNCINTERVALMS: '5',
      EBPF_SENSOR_SINKS__RETRY: '{"initialMs":5,"maxMs":20}',
      EBPF_SENSOR_SINKS__STARTAT: 'oldest',
    });
    const fileSink = new NdjsonSink({ target: file, format: lineFormatter('ecs', HOST, AGENT) });
    const siem = new MemorySink('siem');
    siem.dead = true;
    const outputs = Outputs.open({
      config: cfg,
      host: HOST,
      agent: AGENT,
      sinks: [
        { sink: fileSink, kind: 'file', batch: { count: 200, bytes: 1 << 20, ms: 5 } },
        { sink: siem, kind: 'stdout', batch: { count: 200, bytes: 1 << 20, ms: 5 } },
      ],
    });
    const metrics = new SensorMetrics({ version: 'test', outputs: () => outputs.stats() }, { defaultMetrics: false });
    const source = new TestSource();
    const pl = pipelineOver(outputs, source);
    outputs.start((loss) => pl.reportDeliveryLoss(loss));
    await pl.start();
    const TOTAL = 5000;
    // issue-12: one generous deadline for the whole exchange, no asserted durations.
    const deadline = Date.now() + 120_000;
    for (let b = 0; b < TOTAL / 100; b++) {
      // The source callback never waits for a sink: it is synchronous, and the dead one never takes anything.
      const pushed: unknown = source.push(Array.from({ length: 100 }, (_, i) => sensorEvent(b * 100 + i)));
      assert.ok(!(pushed instanceof Promise), 'push returns at once');
      // Paced like a steady event rate the live sink keeps up with (a burst faster than the 1 MiB journal holds would cost it events too).
      while ((outputs.stats().sinks[0]!.delivery?.lag.events ?? 0) > 150) {
        assert.ok(Date.now() < deadline, 'the live sink keeps up');
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    while (docsOf(file).length < TOTAL && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(docsOf(file).length, TOTAL, 'the live sink got everything while the other was dead');
    const during = outputs.stats();
    const siemStats = during.sinks.find((s) => s.name === 'siem')!;
    assert.ok(siemStats.delivery!.failures > 3, 'the dead sink was retried');
    assert.equal(siemStats.eventsOut, 0);
    assert.ok(during.journal.deleted.positions > 0, 'the 1 MiB bound deleted old segments');
    const health = metrics.health();
    assert.equal(health.status, 'degraded');
    assert.match(health.reasons.join('\n'), /sink siem is failing/);

    siem.dead = false;
    while (!siem.events.some((ce) => ce.event.ebpf.kind === 'loss') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await pl.stop();

    const got = siem.events;
    const lossDocs = got.filter((ce) => ce.event.ebpf.kind === 'loss');
    assert.equal(lossDocs.length, 1, 'one loss event for the one gap');
    const loss = lossDocs[0]!.event.ebpf.loss!;
    assert.equal(loss.sink, 'siem');
    assert.equal(loss.reason, 'retention');
    const delivered = got.filter((ce) => ce.event.ebpf.kind !== 'loss').map(indexOf);
    // What the dead sink held in its first (failed) batch was sent again; then the gap; then the rest.
    const firstAfterGap = loss.to!;
    const tail = delivered.filter((i) => i >= firstAfterGap);
    assert.deepEqual(tail, Array.from({ length: TOTAL - firstAfterGap }, (_, k) => firstAfterGap + k), 'everything still in the journal arrived, in order');
    const head = delivered.filter((i) => i < firstAfterGap);
    assert.equal(head.length + loss.count! + tail.length, TOTAL, 'delivered + lost = appended: nothing unaccounted for');
    assert.equal(loss.from, head.length);
    const after = outputs.stats().sinks.find((s) => s.name === 'siem')!;
    assert.equal(after.delivery!.lost.retention, loss.count);
    const text = await metrics.metrics();
    assert.match(text, new RegExp(`ebpf_sensor_sink_lost_events_total\\{sink="siem",kind="stdout",reason="retention"\\} ${loss.count}\\n`));
    assert.match(text, /ebpf_sensor_sink_lost_events_total\{sink="file:[^"]+",kind="file",reason="retention"\} 0\n/);
    // The file sink, which never lagged, got the loss report too.
    const fileLoss = docsOf(file).filter((d) => d.event.kind === 'metric');
    assert.equal(fileLoss.length, 1);
    assert.equal(fileLoss[0]!.ebpf.loss.sink, 'siem');
    assert.equal(fileLoss[0]!.ebpf.loss.count, loss.count);
  } finally {
    cleanup();
  }
});
