// Issue #7: the Kafka sink against the real broker. What the broker wrote to
// disk shows the producer's settings: record batches LZ4-compressed (zstd and
// gzip when asked, each read back by a consumer) and
// carrying a producer id and sequence numbers (the idempotent producer;
// kafkajs refuses an idempotent send without acks=-1, so every accepted batch
// was acknowledged by all in-sync replicas). Alerts and telemetry on their
// topics, keyed by host (or process), ECS or CEF; SASL and TLS settings that
// the broker cannot satisfy fail as retriable errors with no credential in
// any log line.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/config.js';
import { REDACT_PATHS } from '../../src/telemetry/logger.js';
import { KafkaSink, type KafkaSinkConfig } from '../../src/sinks/kafka/kafka-sink.js';
import { lineFormatter } from '../../src/pipeline/outputs.js';
import { SensorError } from '../../src/errors.js';
import type { ClassifiedEvent } from '../../src/model/event.js';
import { AGENT, HOST, corpus, lossEvent } from '../helpers/normalize-corpus.js';
import { kafkaBrokers, service } from '../services/services.js';
import { kafkaRecords } from './delivery-harness.js';

function capture(): { log: pino.Logger; text: () => string; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const log = pino({ level: 'debug', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, { write: (s: string) => void out.push(s) });
  return { log, text: () => out.join(''), lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function config(run: string, over: Partial<KafkaSinkConfig> = {}): KafkaSinkConfig {
  const c = loadConfig(undefined, {
    EBPF_SENSOR_KAFKA__BROKERS: JSON.stringify(kafkaBrokers()),
    EBPF_SENSOR_KAFKA__TOPICS: JSON.stringify({ alerts: `${run}-alerts`, events: `${run}-events` }),
  }).kafka;
  return { ...structuredClone(c), ...over } as KafkaSinkConfig;
}

function events(run: string): ClassifiedEvent[] {
  const list = corpus().map((ce, i) => {
    ce.event.event.id = `${run}-${i}`;
    return ce;
  });
  const loss = lossEvent();
  loss.event.id = `${run}-loss`;
  list.push({ event: loss, verdict: { classification: 'normal', matches: [] } });
  return list;
}

interface RecordBatchHeader {
  baseOffset: bigint;
  records: number;
  magic: number;
  compression: number;
  transactional: boolean;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
}

/** Record batch headers (format v2, KIP-98) of a partition's log segments as the broker wrote them. */
function recordBatches(topic: string): RecordBatchHeader[] {
  const dir = join(service('kafka').dataDir, `${topic}-0`);
  const out: RecordBatchHeader[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.log')).sort()) {
    const b = readFileSync(join(dir, f));
    let off = 0;
    while (off + 61 <= b.length) {
      const length = b.readInt32BE(off + 8);
      if (length <= 0 || off + 12 + length > b.length) break;
      const attributes = b.readInt16BE(off + 21);
      out.push({
        baseOffset: b.readBigInt64BE(off),
        magic: b.readInt8(off + 16),
        compression: attributes & 0x07,
        transactional: (attributes & 0x10) !== 0,
        producerId: b.readBigInt64BE(off + 43),
        producerEpoch: b.readInt16BE(off + 51),
        baseSequence: b.readInt32BE(off + 53),
        records: b.readInt32BE(off + 57),
      });
      off += 12 + length;
    }
  }
  return out;
}

describe('Kafka sink against the real broker', { timeout: 600_000 }, () => {
  let run: string;
  before(() => {
    run = `ks${Date.now().toString(36)}`;
  });
  after(() => undefined);

  it('writes LZ4 record batches (the default) of an idempotent producer; alerts and loss reports on the alerts topic, telemetry on the events topic, keyed by host', async () => {
    const cap = capture();
    const sink = new KafkaSink({ config: config(run), format: lineFormatter('ecs', HOST, AGENT), hostName: HOST.name, log: cap.log });
    const batch = events(run);
    try {
      await sink.send(batch);
      await sink.send(batch.slice(0, 50));
    } finally {
      await sink.close();
    }
    assert.equal(sink.stats.messages, batch.length + 50);
    assert.equal(sink.stats.failures, 0);
    const wantAlerts = batch.filter((ce) => ce.verdict.classification === 'suspicious' || ce.event.ebpf.kind === 'loss').length;
    const records = await kafkaRecords(kafkaBrokers(), [`${run}-alerts`, `${run}-events`], batch.length, 60_000, 1500);
    assert.equal(records.length, batch.length + 50);
    const firstPass = new Map(records.map((r) => [r.id, r]));
    assert.equal(firstPass.size, batch.length);
    assert.equal(records.filter((r) => r.topic === `${run}-alerts`).length, wantAlerts + batch.slice(0, 50).filter((ce) => ce.verdict.classification === 'suspicious').length);
    for (const r of records) {
      assert.equal(r.key, HOST.name);
      assert.equal(r.topic, r.kind === 'event' ? `${run}-events` : `${run}-alerts`, `${r.id} (${r.kind})`);
    }
    assert.equal(firstPass.get(`${run}-loss`)!.kind, 'metric');

    for (const topic of [`${run}-alerts`, `${run}-events`]) {
      const batches = recordBatches(topic);
      assert.ok(batches.length >= 2, `${topic}: ${batches.length} record batches on disk`);
      for (const rb of batches) {
        assert.equal(rb.magic, 2);
        assert.equal(rb.compression, 3, `${topic}: lz4`);
        assert.ok(rb.producerId >= 0n, `${topic}: a producer id (idempotent producer)`);
        assert.ok(rb.baseSequence >= 0, `${topic}: sequence numbers`);
        assert.equal(rb.transactional, false);
      }
      // One producer, sequences continuing from batch to batch: the broker deduplicates retries of the same batch.
      assert.equal(new Set(batches.map((rb) => rb.producerId)).size, 1);
      for (let i = 1; i < batches.length; i++) assert.equal(batches[i]!.baseSequence, batches[i - 1]!.baseSequence + batches[i - 1]!.records);
    }
    assert.ok(!cap.lines().some((l) => (l.level as number) >= 50), `no error logged: ${cap.text()}`);
  });

  it('issue-14: record batches of each codec (lz4, zstd, gzip) are taken by the broker and read back by a consumer byte for byte', async () => {
    const CODE = { lz4: 3, zstd: 4, gzip: 1 } as const;
    const batch = events(`${run}c`);
    const format = lineFormatter('ecs', HOST, AGENT);
    const want = batch.map((ce) => String(format(ce))).sort();
    const { Kafka, logLevel } = await import('kafkajs');
    for (const codec of ['lz4', 'zstd', 'gzip'] as const) {
      const r = `${run}${codec}`;
      const sink = new KafkaSink({ config: config(r, { compression: codec }), format, hostName: HOST.name, log: capture().log });
      try {
        await sink.send(batch);
      } finally {
        await sink.close();
      }
      const topics = [`${r}-alerts`, `${r}-events`];
      for (const topic of topics) {
        const batches = recordBatches(topic);
        assert.ok(batches.length >= 1, `${topic}: record batches on disk`);
        for (const rb of batches) assert.equal(rb.compression, CODE[codec], `${topic}: ${codec}`);
      }
      // A consumer of its own (kafkajs, with the codecs the sink registered in this process) reads every value back.
      const consumer = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).consumer({ groupId: `g-${r}` });
      const got: string[] = [];
      await consumer.connect();
      try {
        for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`${codec}: read ${got.length} of ${want.length}`)), 60_000);
          void consumer.run({
            eachMessage: async ({ message }) => {
              got.push(message.value!.toString('utf8'));
              if (got.length >= want.length) {
                clearTimeout(t);
                resolve();
              }
            },
          });
        });
      } finally {
        await consumer.disconnect();
      }
      assert.deepEqual(got.sort(), want, `${codec}: the values read back are the lines sent`);
    }
  });

  it('keys by process entity, CEF values, alerts-only, uncompressed when asked', async () => {
    const r2 = `${run}p`;
    const sink = new KafkaSink({
      config: config(r2, { key: 'process', events: 'alerts', compression: 'none' }),
      format: lineFormatter('cef', HOST, AGENT),
      hostName: HOST.name,
      log: capture().log,
    });
    const batch = events(r2);
    try {
      await sink.send(batch);
    } finally {
      await sink.close();
    }
    const alerts = batch.filter((ce) => ce.verdict.classification === 'suspicious' || ce.event.ebpf.kind === 'loss');
    assert.equal(sink.stats.messages, alerts.length);
    assert.equal(existsSync(join(service('kafka').dataDir, `${r2}-events-0`)), false, 'nothing produced to the events topic');
    for (const rb of recordBatches(`${r2}-alerts`)) assert.equal(rb.compression, 0);
    const { Kafka, logLevel } = await import('kafkajs');
    const consumer = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).consumer({ groupId: `g-${r2}` });
    const got: Array<{ key: string; value: string }> = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: `${r2}-alerts`, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${got.length} of ${alerts.length}`)), 60_000);
        void consumer.run({
          eachMessage: async ({ message }) => {
            got.push({ key: message.key!.toString(), value: message.value!.toString() });
            if (got.length === alerts.length) {
              clearTimeout(t);
              resolve();
            }
          },
        });
      });
    } finally {
      await consumer.disconnect();
    }
    for (const [i, m] of got.entries()) {
      assert.match(m.value, /^CEF:0\|ebpf-sensor\|ebpf-sensor\|/);
      const p = alerts[i]!.event.process;
      assert.equal(m.key, p.entity_id || `${HOST.name}/${p.pid}`);
    }
  });

  it('SASL or TLS the broker cannot do: the send fails (retriable, the delivery retries), and no log line holds the password', async () => {
    for (const over of [
      { sasl: { mechanism: 'scram-sha-512' as const, username: 'sensor', password: 'Sup3r-Secret-Kafka-PW' } },
      { sasl: { mechanism: 'plain' as const, username: 'sensor', password: 'Sup3r-Secret-Kafka-PW' } },
      { tls: { enabled: true, rejectUnauthorized: true } },
    ]) {
      const cap = capture();
      const sink = new KafkaSink({ config: config(`${run}s`, { ...over, connectionTimeoutMs: 3000, requestTimeoutMs: 5000 }), format: lineFormatter('ecs', HOST, AGENT), hostName: 'h', log: cap.log });
      try {
        await assert.rejects(sink.send(events(`${run}s`).slice(0, 3)), (e: unknown) => {
          assert.ok(e instanceof SensorError, String(e));
          assert.equal(e.retriable, true);
          assert.ok(['ESENSOR_SINK_UNAVAILABLE', 'ESENSOR_SINK_CONFIG'].includes(e.code));
          assert.ok(!e.message.includes('Sup3r-Secret-Kafka-PW'));
          return true;
        });
      } finally {
        await sink.close();
      }
      assert.ok(cap.lines().some((l) => typeof l.kafkajs === 'string'), `kafkajs logged through pino (${Object.keys(over)[0]})`);
      assert.ok(!cap.text().includes('Sup3r-Secret-Kafka-PW'), cap.text());
    }
  });
});
