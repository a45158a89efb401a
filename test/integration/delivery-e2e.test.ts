// Issue #7, points 4 and 5: 100,000 generated events (every kind, about three
// in ten alerts) journaled by the sensor-side runner (the same outputs.ts
// wiring as `ebpf-sensor run`, in a child process) and delivered to the real
// Kafka and Elasticsearch, through
//   (a) a steady stream: everything arrives, exactly once in Elasticsearch
//       (by id), at least once in Kafka, counts reconciled with the journal;
//   (b) Kafka stopped for 30 s mid-stream and started again: nothing lost,
//       and Elasticsearch kept up meanwhile (a dead sink blocks no other);
//   (c) Elasticsearch stopped mid-stream and started again: nothing lost,
//       nothing duplicated;
//   (d) the runner SIGKILLed mid-stream (sinks behind) and restarted on the
//       same journal: it resumes from its cursors, nothing committed is lost.
// The final check reads the journal itself and reconciles both sinks with it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { Journal } from '../../src/journal/journal.js';
import { elasticsearchClient, elasticsearchNode, kafkaBrokers, startService, stopService } from '../services/services.js';
import { esIdCounts, kafkaRecords, startRunner, waitDrained, writeRunnerConfig, type Runner } from './delivery-harness.js';

const RUN = `e2e${Date.now().toString(36)}`;
const TOPICS = { alerts: `${RUN}-alerts`, events: `${RUN}-events` };
const STREAMS = { alerts: `logs-ebpf_sensor.alerts-${RUN}`, events: `logs-ebpf_sensor.events-${RUN}` };
const STEP = 2000;

describe('delivery end to end: 100,000 events to real Kafka and Elasticsearch through outages and a crash', { timeout: 30 * 60_000 }, () => {
  let dir: string;
  let config: string;
  let runner: Runner | undefined;
  let es: Client;
  let next = 0;
  /** Ranges the runner confirmed as durable (fsync'ed) in the journal. */
  const acked: Array<[number, number]> = [];
  const ids = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `${RUN}-${from + i}`);

  async function append(count: number, pauseMs = 0): Promise<void> {
    const end = next + count;
    while (next < end) {
      const n = Math.min(STEP, end - next);
      await runner!.append(next, n);
      acked.push([next, next + n]);
      next += n;
      if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
    }
  }

  /** Everything acked so far is in Elasticsearch exactly once and in Kafka at least once. */
  async function reconcile(label: string): Promise<{ esDuplicates: number; kafkaDuplicates: number }> {
    const want = new Set(acked.flatMap(([a, b]) => ids(a, b)));
    const counts = await esIdCounts(es, [STREAMS.alerts, STREAMS.events]);
    const missingEs = [...want].filter((id) => !counts.has(id));
    assert.deepEqual(missingEs.slice(0, 10), [], `${label}: ${missingEs.length} events missing in Elasticsearch`);
    const dupEs = [...counts].filter(([, n]) => n > 1);
    assert.deepEqual(dupEs.slice(0, 10), [], `${label}: duplicates in Elasticsearch`);
    assert.equal(counts.size, want.size, `${label}: Elasticsearch holds exactly the journaled events`);
    const records = await kafkaRecords(kafkaBrokers(), [TOPICS.alerts, TOPICS.events], want.size);
    const seen = new Map<string, number>();
    for (const r of records) seen.set(r.id, (seen.get(r.id) ?? 0) + 1);
    const missingKafka = [...want].filter((id) => !seen.has(id));
    assert.deepEqual(missingKafka.slice(0, 10), [], `${label}: ${missingKafka.length} events missing in Kafka`);
    assert.equal([...seen.keys()].filter((id) => !want.has(id)).length, 0, `${label}: nothing in Kafka that was not journaled`);
    for (const r of records) {
      assert.equal(r.topic, r.kind === 'event' ? TOPICS.events : TOPICS.alerts, `${label}: ${r.id} (${r.kind}) on ${r.topic}`);
      assert.equal(r.key, 'web-01', 'key: host.name');
    }
    return { esDuplicates: 0, kafkaDuplicates: records.length - seen.size };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-delivery-e2e-'));
    config = writeRunnerConfig({ dir, brokers: kafkaBrokers(), topics: TOPICS, esNode: elasticsearchNode('elasticsearch'), dataStreams: STREAMS });
    es = (await elasticsearchClient('elasticsearch')).client;
    runner = await startRunner(config, RUN);
  });

  after(async () => {
    await runner?.stop().catch(() => undefined);
    await es?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('(a) a steady stream of 40,000 events: all in Elasticsearch exactly once, all in Kafka, alerts and telemetry apart', async () => {
    await append(40_000, 20);
    const h = await waitDrained(runner!, 300_000);
    assert.deepEqual(
      h.sinks.map((s) => s.name).sort(),
      ['elasticsearch', 'kafka'],
    );
    for (const s of h.sinks) {
      assert.equal(s.eventsOut, 40_000, `${s.name} confirmed every event`);
      assert.deepEqual(s.lost, { retention: 0, damaged: 0 });
    }
    await reconcile('(a)');
    const alerts = await es.count({ index: STREAMS.alerts });
    const events = await es.count({ index: STREAMS.events });
    assert.equal(alerts.count + events.count, 40_000);
    assert.ok(alerts.count > 4000 && events.count > 20_000, `a mix: ${alerts.count} alerts, ${events.count} telemetry`);
    const kinds = await es.search({ index: STREAMS.events, size: 0, aggs: { k: { terms: { field: 'ebpf.kind', size: 50 } } } });
    assert.ok(((kinds.aggregations!.k as { buckets: unknown[] }).buckets.length) >= 20, 'every family of events is there');
  });

  it('(b) Kafka stopped for 30 s mid-stream: Kafka lags then catches up with nothing lost; Elasticsearch is not held up', async () => {
    await append(5000);
    await stopService('kafka');
    const stoppedAt = Date.now();
    let esLagDuring = -1;
    let kafkaState = '';
    try {
      // 20,000 events arrive while Kafka is down.
      await append(20_000, 1000);
      // Elasticsearch gets them meanwhile. The outage lasts until it has (one
      // generous deadline, issue-12: not 25 s, which a loaded machine outlasts),
      // and at least 30 s.
      const deadline = Date.now() + 240_000;
      for (;;) {
        const h = await runner!.health();
        const e = h.sinks.find((s) => s.name === 'elasticsearch')!;
        const k = h.sinks.find((s) => s.name === 'kafka')!;
        kafkaState = `${k.state} lag ${k.lagEvents}, retries ${k.retries}, ${h.status}`;
        esLagDuring = e.lagEvents;
        if (e.lagEvents === 0 || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      const wait = 30_000 - (Date.now() - stoppedAt);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const h = await runner!.health();
      const k = h.sinks.find((s) => s.name === 'kafka')!;
      assert.ok(k.lagEvents > 0 && k.retries > 0, `Kafka lags and retries during the outage: ${JSON.stringify(k)}`);
      assert.equal(h.status, 'degraded');
    } finally {
      await startService('kafka');
    }
    assert.equal(esLagDuring, 0, `Elasticsearch caught up while Kafka was down (kafka: ${kafkaState})`);
    assert.ok(Date.now() - stoppedAt >= 30_000);
    await waitDrained(runner!, 300_000, 'sinks after the Kafka outage');
    const { kafkaDuplicates } = await reconcile('(b)');
    // At least once: a batch in flight when the broker went away may have been written twice.
    assert.ok(kafkaDuplicates <= 10_000, `${kafkaDuplicates} duplicates in Kafka`);
  });

  it('(c) Elasticsearch stopped mid-stream and started again: nothing lost, nothing duplicated', async () => {
    await append(5000);
    await stopService('elasticsearch');
    try {
      await append(10_000, 200);
      const h = await runner!.health();
      const e = h.sinks.find((s) => s.name === 'elasticsearch')!;
      assert.ok(e.lagEvents > 0, 'Elasticsearch lags during its outage');
    } finally {
      await startService('elasticsearch');
    }
    await waitDrained(runner!, 300_000, 'sinks after the Elasticsearch outage');
    await es.close();
    es = (await elasticsearchClient('elasticsearch')).client;
    await reconcile('(c)');
  });

  it('(d) the sensor SIGKILLed with sinks behind, restarted: resumes from its cursors, nothing committed is lost', async () => {
    await append(10_000);
    const before = await runner!.health();
    const behind = before.sinks.map((s) => s.lagEvents);
    assert.equal(await runner!.kill(), 'SIGKILL');
    runner = await startRunner(config, RUN);
    const resumed = await runner.health();
    assert.equal(resumed.journal!.nextPosition, next, 'the journal kept every acked event');
    await append(10_000);
    await waitDrained(runner, 300_000, 'sinks after the restart');
    await reconcile('(d)');
    assert.ok(
      behind.some((n) => n > 0),
      `the kill hit sinks that were behind (${JSON.stringify(behind)}); if they had caught up, the crash case was not exercised`,
    );
  });

  it('100,000 events in all: both sinks reconcile with the journal itself', async () => {
    assert.equal(next, 100_000);
    assert.equal(await runner!.stop(), 0);
    runner = undefined;
    const j = Journal.open(join(dir, 'journal'), { readOnly: true });
    const journaled: string[] = [];
    let lossEvents = 0;
    for (const rec of j.reader(0)) {
      if (rec.event.event.ebpf.kind === 'loss') lossEvents++;
      else journaled.push(rec.event.event.event.id);
    }
    const cursors = { kafka: j.cursor('kafka'), elasticsearch: j.cursor('elasticsearch'), end: j.nextPosition };
    await j.close();
    assert.equal(lossEvents, 0, 'no gaps were reported');
    assert.equal(journaled.length, 100_000);
    assert.equal(new Set(journaled).size, 100_000);
    assert.deepEqual(cursors, { kafka: 100_000, elasticsearch: 100_000, end: 100_000 }, 'both cursors at the journal end');
    const counts = await esIdCounts(es, [STREAMS.alerts, STREAMS.events]);
    assert.equal(counts.size, 100_000);
    assert.ok([...counts.values()].every((n) => n === 1), 'exactly once in Elasticsearch');
    assert.ok(journaled.every((id) => counts.has(id)));
  });
});
