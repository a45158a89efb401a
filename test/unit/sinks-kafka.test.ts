// Issue #7: the Kafka sink's producer settings, topic routing, keys, request
// splitting, TLS/SASL options, and its kafkajs → pino log bridge (levels,
// folding, no credentials in any line). No broker here: the integration
// tests (kafka-sink*.test.ts) check the same against a real Kafka.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs, { CompressionTypes, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/config.js';
import { REDACT_PATHS } from '../../src/telemetry/logger.js';
import { KafkaSink, kafkaClientConfig, useGzipLevel, type KafkaSinkConfig } from '../../src/sinks/kafka/kafka-sink.js';
import { kafkaLogLevel, pinoLogCreator } from '../../src/sinks/kafka/kafka-log.js';
import { lineFormatter } from '../../src/pipeline/outputs.js';
import { batchOf, classified, tempDir } from '../helpers/journal-fixtures.js';
import { AGENT, HOST, lossEvent } from '../helpers/normalize-corpus.js';

function config(over: Partial<KafkaSinkConfig> = {}): KafkaSinkConfig {
  const base = loadConfig(undefined, { EBPF_SENSOR_KAFKA__BROKERS: '["127.0.0.1:9092"]' }).kafka;
  return { ...structuredClone(base), ...over } as KafkaSinkConfig;
}

/** A pino logger writing JSON lines into an array, with the sensor's redaction. */
function capture(level = 'debug'): { log: pino.Logger; lines: () => Array<Record<string, unknown>>; text: () => string } {
  const out: string[] = [];
  const log = pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, { write: (s: string) => void out.push(s) });
  return { log, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>), text: () => out.join('') };
}

test('defaults: gzip level 1, host keys, separate alerts and events topics, all events', () => {
  const c = config();
  assert.deepEqual(c.topics, { alerts: 'ebpf-sensor-alerts', events: 'ebpf-sensor-events' });
  assert.equal(c.key, 'host');
  assert.equal(c.compression, 'lz4', 'the cheapest codec per document (docs/benchmarks.md, "Kafka: codecs")');
  assert.equal(c.compressionLevel, 1);
  assert.equal(c.events, 'all');
  assert.deepEqual(loadConfig(undefined, {}).kafka.brokers, [], 'off unless brokers are configured');
});

test('alerts and loss reports go to the alerts topic, telemetry to the events topic; keys per host or per process', () => {
  const { log } = capture();
  const fmt = lineFormatter('ecs', HOST, AGENT);
  const loss = { event: lossEvent(), verdict: { classification: 'normal' as const, matches: [] } };
  const batch = [...batchOf(0, 14), loss];
  const byHost = new KafkaSink({ config: config(), format: fmt, hostName: 'web-01', log });
  const { requests, messages } = byHost.requestsFor(batch);
  assert.equal(messages, 15);
  assert.equal(requests.length, 1);
  const [alerts, events] = requests[0]!;
  assert.equal(alerts!.topic, 'ebpf-sensor-alerts');
  assert.equal(events!.topic, 'ebpf-sensor-events');
  const ids = (msgs: typeof alerts.messages): string[] => msgs.map((m) => (JSON.parse(String(m.value)) as { event: { id: string } }).event.id);
  assert.deepEqual(ids(alerts!.messages), ['ev-0', 'ev-7', lossEvent().event.id]);
  assert.equal(events!.messages.length, 12);
  assert.ok([...alerts!.messages, ...events!.messages].every((m) => String(m.key) === 'web-01'), 'key: host.name');
  assert.deepEqual(JSON.parse(String(events!.messages[0]!.value)).event.kind, 'event');

  const byProcess = new KafkaSink({ config: config({ key: 'process' }), format: fmt, hostName: 'web-01', log });
  const msg = byProcess.requestsFor(batchOf(1, 1)).requests[0]![0]!.messages[0]!;
  assert.equal(msg.key, classified(1).event.process.entity_id, 'key: process.entity_id');
  const noEntity = classified(2);
  noEntity.event.process.entity_id = '';
  assert.equal(byProcess.keyOf(noEntity), `web-01/${noEntity.event.process.pid}`, 'without an entity id: host/pid');

  const alertsOnly = new KafkaSink({ config: config({ events: 'alerts' }), format: fmt, hostName: 'web-01', log });
  const r = alertsOnly.requestsFor(batch);
  assert.equal(r.messages, 3, 'alerts-only: the two alerts and the loss report');
  assert.equal(alertsOnly.stats.filtered, 12);
  assert.deepEqual(
    r.requests[0]!.map((t) => t.topic),
    ['ebpf-sensor-alerts'],
  );
});

test('CEF messages, and requests cut at maxRequestBytes without splitting or reordering messages', () => {
  const { log } = capture();
  const cef = new KafkaSink({ config: config(), format: lineFormatter('cef', HOST, AGENT), hostName: 'h', log });
  const m = cef.requestsFor(batchOf(1, 1)).requests[0]![0]!.messages[0]!;
  assert.match(String(m.value), /^CEF:0\|ebpf-sensor\|ebpf-sensor\|/);

  const fmt = lineFormatter('ecs', HOST, AGENT);
  const sink = new KafkaSink({ config: config({ maxRequestBytes: 65536 }), format: fmt, hostName: 'h', log });
  const batch = batchOf(0, 300);
  const { requests, messages } = sink.requestsFor(batch);
  assert.equal(messages, 300);
  assert.ok(requests.length > 5, `${requests.length} requests`);
  const seen: string[] = [];
  for (const req of requests) {
    let bytes = 0;
    for (const t of req) for (const msg of t.messages) bytes += String(msg.value).length;
    assert.ok(bytes <= 65536, `request of ${bytes} bytes`);
    for (const t of req) for (const msg of t.messages) seen.push((JSON.parse(String(msg.value)) as { event: { id: string } }).event.id);
  }
  const alertIds = batch.filter((ce) => ce.verdict.classification === 'suspicious').map((ce) => ce.event.event.id);
  assert.deepEqual(seen.filter((id) => alertIds.includes(id)), alertIds, 'alerts keep their order');
  assert.deepEqual(seen.filter((id) => !alertIds.includes(id)), batch.map((ce) => ce.event.event.id).filter((id) => !alertIds.includes(id)), 'events keep their order');
});

test('TLS and SASL options become kafkajs options; the password comes from the config or a file', () => {
  const { dir, cleanup } = tempDir('kafka-tls-');
  try {
    mkdirSync(join(dir, 'pki'));
    writeFileSync(join(dir, 'pki/ca.pem'), 'CA PEM');
    writeFileSync(join(dir, 'pki/cert.pem'), 'CERT PEM');
    writeFileSync(join(dir, 'pki/key.pem'), 'KEY PEM');
    writeFileSync(join(dir, 'pw'), 's3cret-from-file\n');
    const { log } = capture();
    const plain = kafkaClientConfig(config(), log).config;
    assert.equal(plain.ssl, undefined);
    assert.equal(plain.sasl, undefined);
    assert.deepEqual(plain.brokers, ['127.0.0.1:9092']);
    assert.equal(plain.retry?.retries, 5, 'bounded: delivery retries the batch');

    const tls = kafkaClientConfig(
      config({ tls: { enabled: false, ca: join(dir, 'pki/ca.pem'), cert: join(dir, 'pki/cert.pem'), key: join(dir, 'pki/key.pem'), rejectUnauthorized: true, servername: 'kafka.internal' } }),
      log,
    ).config;
    const ssl = tls.ssl as { ca: Buffer; cert: Buffer; key: Buffer; rejectUnauthorized: boolean; servername: string };
    assert.equal(String(ssl.ca), 'CA PEM');
    assert.equal(String(ssl.cert), 'CERT PEM');
    assert.equal(String(ssl.key), 'KEY PEM');
    assert.equal(ssl.rejectUnauthorized, true);
    assert.equal(ssl.servername, 'kafka.internal');
    assert.deepEqual(kafkaClientConfig(config({ tls: { enabled: true, rejectUnauthorized: false } }), log).config.ssl, { rejectUnauthorized: false });

    for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
      const r = kafkaClientConfig(config({ sasl: { mechanism, username: 'sensor', password: 'p@ss' } }), log);
      assert.deepEqual(r.config.sasl, { mechanism, username: 'sensor', password: 'p@ss' });
      assert.deepEqual(r.secrets, ['p@ss']);
    }
    const fromFile = kafkaClientConfig(config({ sasl: { mechanism: 'scram-sha-512', username: 'sensor', passwordFile: join(dir, 'pw') } }), log);
    assert.equal((fromFile.config.sasl as { password: string }).password, 's3cret-from-file');
    assert.throws(() => kafkaClientConfig(config({ sasl: { mechanism: 'plain', username: 'u' } }), log), /exactly one of password and passwordFile/);
    assert.throws(() => kafkaClientConfig(config({ tls: { enabled: true, ca: join(dir, 'missing.pem'), rejectUnauthorized: true } }), log), (e: unknown) => {
      assert.match(String((e as Error).message), /cannot read kafka\.tls\.ca/);
      return true;
    });
    // The config schema accepts exactly these mechanisms.
    assert.throws(() => loadConfig(undefined, { EBPF_SENSOR_KAFKA__SASL: '{"mechanism":"gssapi","username":"u"}' }), /must be one of "plain", "scram-sha-256", "scram-sha-512"/);
  } finally {
    cleanup();
  }
});

test('kafkajs logs reach pino at the mapped level, repeated lines fold, and credentials never appear', () => {
  assert.equal(kafkaLogLevel('debug'), logLevel.DEBUG);
  assert.equal(kafkaLogLevel('info'), logLevel.INFO);
  assert.equal(kafkaLogLevel('warn'), logLevel.WARN);
  assert.equal(kafkaLogLevel('error'), logLevel.ERROR);
  assert.equal(kafkaLogLevel('silent'), logLevel.NOTHING);
  const cap = capture('debug');
  let t = 0;
  const creator = pinoLogCreator(cap.log, { secrets: ['hunter2-secret'], now: () => t });
  const emit = creator(logLevel.DEBUG);
  const entry = (level: logLevel, message: string, extra: Record<string, unknown> = {}) => ({
    namespace: 'Connection',
    level,
    label: 'X',
    log: { timestamp: new Date().toISOString(), logger: 'kafkajs', message, ...extra },
  });
  emit(entry(logLevel.ERROR, 'Connection error: connect ECONNREFUSED 127.0.0.1:9092', { broker: '127.0.0.1:9092', clientId: 'ebpf-sensor' }));
  for (let i = 0; i < 50; i++) {
    t += 100;
    emit(entry(logLevel.ERROR, 'Connection error: connect ECONNREFUSED 127.0.0.1:9092', { broker: '127.0.0.1:9092' }));
  }
  t += 10_000;
  emit(entry(logLevel.ERROR, 'Connection error: connect ECONNREFUSED 127.0.0.1:9092', { broker: '127.0.0.1:9092' }));
  emit(entry(logLevel.WARN, 'Limiting retries for the idempotent producer may invalidate EoS guarantees'));
  emit(entry(logLevel.INFO, 'auth with hunter2-secret failed', { sasl: { mechanism: 'plain', username: 'u', password: 'hunter2-secret' }, password: 'hunter2-secret' }));
  const lines = cap.lines();
  assert.equal(lines.length, 4, 'the 50 repeats within 10 s were folded');
  assert.equal(lines[0]!.level, 50);
  assert.equal(lines[0]!.kafkajs, 'Connection');
  assert.equal(lines[0]!.broker, '127.0.0.1:9092');
  assert.equal(lines[0]!.msg, 'Connection error: connect ECONNREFUSED 127.0.0.1:9092');
  assert.equal(lines[1]!.repeated, 50, 'the next line says how many were folded');
  assert.equal(lines[2]!.level, 20, 'the expected idempotence warning is debug');
  assert.equal(lines[3]!.level, 30);
  assert.ok(!cap.text().includes('hunter2-secret'), `no secret in ${cap.text()}`);
  assert.match(cap.text(), /\[redacted\]/);

  const quiet = capture('warn');
  pinoLogCreator(quiet.log)(logLevel.DEBUG)(entry(logLevel.INFO, 'info is below warn'));
  assert.equal(quiet.lines().length, 0);
});

test('gzip records compress at the configured level and round-trip through kafkajs\' codec table', async () => {
  const codecs = (kafkajs as unknown as { CompressionCodecs: Record<number, () => { compress: (e: { buffer: Buffer }) => Promise<Buffer>; decompress: (b: Buffer) => Promise<Buffer> }> })
    .CompressionCodecs;
  const text = Buffer.from(batchOf(0, 200).map((ce) => JSON.stringify(ce)).join('\n'));
  useGzipLevel(9);
  const best = await codecs[CompressionTypes.GZIP]!().compress({ buffer: text });
  useGzipLevel(1);
  const fast = await codecs[CompressionTypes.GZIP]!().compress({ buffer: text });
  assert.ok(fast.length > best.length, `level 1 (${fast.length} B) compresses less than level 9 (${best.length} B)`);
  assert.ok(fast.length < text.length / 4);
  assert.ok((await codecs[CompressionTypes.GZIP]!().decompress(fast)).equals(text));
  assert.equal(fast[0], 0x1f, 'gzip magic');
  assert.equal(fast[1], 0x8b);
});

test('the sink logs its settings without the password', () => {
  const cap = capture('info');
  new KafkaSink({
    config: config({ sasl: { mechanism: 'scram-sha-256', username: 'sensor', password: 'topsecret-pw' } }),
    format: lineFormatter('ecs', HOST, AGENT),
    hostName: 'h',
    log: cap.log,
  });
  const [line] = cap.lines();
  assert.match(String(line!.msg), /idempotent producer, acks=-1/);
  assert.deepEqual(line!.sasl, { mechanism: 'scram-sha-256', username: 'sensor' });
  assert.equal(line!.compression, 'lz4');
  assert.ok(!cap.text().includes('topsecret-pw'));
});

test('issue-14: events read from the journal go out as the journaled bytes (message values are those Buffers), keys and topics from the routing section', async () => {
  const { Journal, ShippedRecord } = await import('../../src/journal/journal.js');
  const { journalSections } = await import('../../src/pipeline/outputs.js');
  const { dir, cleanup } = tempDir('issue14-kafka-');
  try {
    const fmt = lineFormatter('ecs', HOST, AGENT);
    const j = Journal.open(dir, { fsyncIntervalMs: 0 });
    const batch = [...batchOf(0, 14), { event: lossEvent(), verdict: { classification: 'normal' as const, matches: [] } }];
    j.append(batch, journalSections(new Map([['ecs', fmt]])));
    const recs = j.reader(j.firstPosition, { ship: true }).read(100, 1 << 30).records;
    const shipped = recs.map((r) => {
      assert.ok(r instanceof ShippedRecord);
      return r.ship;
    });
    // The formatter must not be called: the lines are in the journal already.
    const never = Object.assign(() => assert.fail('formatted again'), { format: 'ecs' as const });
    const sink = new KafkaSink({ config: config({ key: 'process' }), format: never, hostName: 'web-01', log: pino({ level: 'silent' }) });
    const { requests } = sink.requestsFor(shipped);
    const sent = requests.flat().flatMap((t) => t.messages.map((m) => ({ topic: t.topic, key: m.key, value: m.value })));
    assert.equal(sent.length, batch.length);
    for (const ce of batch) {
      const m = sent.find((x) => Buffer.isBuffer(x.value) && x.value.toString() === fmt(ce));
      assert.ok(m, `the journaled line of ${ce.event.event.id} was sent`);
      assert.equal(m.key, ce.event.process.entity_id || `web-01/${ce.event.process.pid}`);
      const alert = ce.verdict.classification === 'suspicious' || ce.event.ebpf.kind === 'loss';
      assert.equal(m.topic, alert ? config().topics.alerts : config().topics.events);
    }
    await j.close();
  } finally {
    cleanup();
  }
});

test('issue-14: lz4 and zstd are registered in kafkajs\' codec table as LZ4 frames and Zstandard frames that round-trip', async () => {
  const { useCompression } = await import('../../src/sinks/kafka/kafka-codecs.js');
  const codecs = (kafkajs as unknown as { CompressionCodecs: Record<number, () => { compress: (e: { buffer: Buffer }) => Promise<Buffer>; decompress: (b: Buffer) => Promise<Buffer> }> })
    .CompressionCodecs;
  const text = Buffer.from(batchOf(0, 200).map((ce) => JSON.stringify(ce)).join('\n'));
  assert.equal(useCompression('lz4', 1), CompressionTypes.LZ4);
  assert.equal(useCompression('zstd', 3), CompressionTypes.ZSTD);
  assert.equal(useCompression('none', 1), CompressionTypes.None);
  const lz4 = await codecs[CompressionTypes.LZ4]!().compress({ buffer: text });
  assert.equal(lz4.readUInt32LE(0), 0x184d2204, 'LZ4 frame magic (the format Kafka reads)');
  // FLG: version 01, independent blocks, no block checksums (Kafka's reader refuses none of these).
  assert.equal(lz4[4]! >> 6, 1);
  assert.ok(lz4.length < text.length / 4, `${lz4.length} of ${text.length} B`);
  assert.ok((await codecs[CompressionTypes.LZ4]!().decompress(lz4)).equals(text));
  const zstd = await codecs[CompressionTypes.ZSTD]!().compress({ buffer: text });
  assert.equal(zstd.readUInt32LE(0), 0xfd2fb528, 'Zstandard frame magic');
  assert.ok(zstd.length < lz4.length, `zstd ${zstd.length} B < lz4 ${lz4.length} B`);
  assert.ok((await codecs[CompressionTypes.ZSTD]!().decompress(zstd)).equals(text));
});
