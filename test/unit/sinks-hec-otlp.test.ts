// Issue #19: the pure parts of the Splunk HEC and OTLP sinks — the HEC
// envelope (time to the microsecond, per-kind index, the ECS document
// spliced in unparsed, CEF as a JSON string), Splunk's answers sorted into
// ok / retry / config / split / refused (a bad token is retried, never
// dropped), the token from config, file or environment, the ECS → OTel
// semantic-convention mapping and severity; and that the config enables both
// sinks with their defaults.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { buildSinks, loadConfiguredSinks } from '../../src/pipeline/outputs.js';
import { ecsLine } from '../../src/normalize/ecs/ecs-serializer.js';
import { envelopeMiddle, hecEnvelope, hecTime } from '../../src/sinks/hec/hec-format.js';
import { classifyAnswer, parseAnswer, readToken } from '../../src/sinks/hec/hec-client.js';
import { HecSink } from '../../src/sinks/hec/hec-sink.js';
import { OtlpSink, logsUrl } from '../../src/sinks/otlp/otlp-sink.js';
import { hrTimeOf, logAttributes, logSeverity, resourceAttributes } from '../../src/sinks/otlp/otlp-map.js';
import { AGENT, HOST, corpus } from '../helpers/normalize-corpus.js';

test('hecTime: seconds with six fraction digits, nanoseconds cut, no fraction padded', () => {
  assert.equal(hecTime('2026-11-23T16:12:00.123456789Z'), '1795450320.123456');
  assert.equal(hecTime('2026-11-23T16:12:00Z'), '1795450320.000000');
  assert.equal(hecTime('2026-11-23T16:12:00.5Z'), '1795450320.500000');
  assert.equal(Number(hecTime('1970-01-01T00:00:01.000001Z')), 1.000001);
});

test('hecEnvelope: one JSON object with the document spliced in unparsed; CEF lines become strings', () => {
  const mid = envelopeMiddle({ host: 'web-01', source: 'ebpf-sensor', sourcetype: 'ebpf:ecs', index: 'sec' });
  const doc = '{"a":1,"b":{"c":"x\\"y"}}';
  const env = JSON.parse(hecEnvelope('2026-11-23T16:12:00.000001999Z', mid, doc, true));
  assert.deepEqual(env, { time: 1795450320.000001, host: 'web-01', source: 'ebpf-sensor', sourcetype: 'ebpf:ecs', index: 'sec', event: { a: 1, b: { c: 'x"y' } } });
  const noIndex = JSON.parse(hecEnvelope('2026-11-23T16:12:00Z', envelopeMiddle({ host: 'h', source: 's', sourcetype: 'ebpf:cef' }), 'CEF:0|a|b|1|x|y|5|msg=a\\=b', false));
  assert.equal(noIndex.index, undefined);
  assert.equal(noIndex.event, 'CEF:0|a|b|1|x|y|5|msg=a\\=b');
  for (const ce of corpus()) {
    const line = ecsLine(ce, HOST, AGENT);
    assert.deepEqual(JSON.parse(hecEnvelope(ce.event['@timestamp'], mid, line, true)).event, JSON.parse(line));
  }
});

test("classifyAnswer: Splunk's codes — data errors refused (dead-letter), token/index/channel errors retried as config, busy retried, 413 split", () => {
  const v = (status: number, code: number): string => classifyAnswer({ status, code, text: '' });
  assert.equal(v(200, 0), 'ok');
  assert.equal(v(200, -1), 'ok');
  for (const code of [5, 6, 12, 13, 15]) assert.equal(v(400, code), 'refused', `code ${code}`);
  assert.equal(v(401, 2), 'config', 'token required');
  assert.equal(v(401, 3), 'config', 'invalid authorization');
  assert.equal(v(403, 4), 'config', 'invalid token: retried, not dropped');
  assert.equal(v(403, 1), 'config', 'token disabled');
  for (const code of [7, 10, 11, 14, 16]) assert.equal(v(400, code), 'config', `code ${code}`);
  assert.equal(v(503, 9), 'retry', 'server busy');
  assert.equal(v(500, 8), 'retry');
  assert.equal(v(429, -1), 'retry');
  assert.equal(v(502, -1), 'retry');
  assert.equal(v(413, -1), 'split');
});

test('parseAnswer: ackId, invalid-event-number, acks; non-JSON bodies keep the status', () => {
  assert.deepEqual(parseAnswer(200, '{"text":"Success","code":0,"ackId":7}'), { status: 200, code: 0, text: 'Success', ackId: 7 });
  assert.deepEqual(parseAnswer(400, '{"text":"Invalid data format","code":6,"invalid-event-number":3}'), { status: 400, code: 6, text: 'Invalid data format', invalidEvent: 3 });
  assert.deepEqual(parseAnswer(200, '{"acks":{"1":true,"2":false}}').acks, { '1': true, '2': false });
  assert.deepEqual(parseAnswer(502, '<html>bad gateway</html>'), { status: 502, code: -1, text: '<html>bad gateway</html>' });
});

test('readToken: config, file (first line), environment through the config; both or none refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hec-token-'));
  try {
    writeFileSync(join(dir, 't'), 'abc-123\nignored\n');
    assert.equal(readToken({ token: ' x ' }), 'x');
    assert.equal(readToken({ tokenFile: join(dir, 't') }), 'abc-123');
    assert.throws(() => readToken({}), { code: 'ESENSOR_SINK_CONFIG' });
    assert.throws(() => readToken({ token: 'a', tokenFile: join(dir, 't') }), { code: 'ESENSOR_SINK_CONFIG' });
    assert.throws(() => readToken({ tokenFile: join(dir, 'missing') }), { code: 'ESENSOR_SINK_CONFIG' });
    const cfg = loadConfig(undefined, { EBPF_SENSOR_SPLUNK__URL: 'https://splunk.example:8088', EBPF_SENSOR_SPLUNK__TOKEN: 'from-env' });
    assert.equal(readToken(cfg.splunk), 'from-env');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config: splunk and otlp defaults; both sinks built when url/endpoint are set, with sourcetype by format', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hec-cfg-'));
  try {
    const cfg = loadConfig(undefined, {
      EBPF_SENSOR_OUTPUT__ENABLED: 'false',
      EBPF_SENSOR_SPLUNK__URL: 'https://splunk.example:8088',
      EBPF_SENSOR_SPLUNK__TOKEN: 'secret',
      EBPF_SENSOR_SPLUNK__FORMAT: 'cef',
      EBPF_SENSOR_SPLUNK__DEADLETTER: JSON.stringify({ path: join(dir, 'd.ndjson') }),
      EBPF_SENSOR_OTLP__ENDPOINT: 'http://127.0.0.1:4318',
      EBPF_SENSOR_OTLP__DEADLETTER: JSON.stringify({ path: join(dir, 'o.ndjson') }),
    });
    assert.equal(cfg.splunk.gzip, true);
    assert.equal(cfg.splunk.ack.enabled, false);
    assert.equal(cfg.splunk.tls.rejectUnauthorized, true);
    assert.equal(cfg.splunk.source, 'ebpf-sensor');
    assert.equal(cfg.otlp.compression, 'gzip');
    await loadConfiguredSinks(cfg); // the OTLP exporter is loaded only when configured (issue-14)
    const sinks = buildSinks(cfg, HOST, AGENT);
    assert.deepEqual(sinks.map((s) => [s.name, s.kind]), [['splunk', 'splunk'], ['otlp', 'otlp']]);
    const hec = sinks[0]!.sink as HecSink;
    assert.equal(hec.channel, undefined);
    assert.equal(logsUrl('http://127.0.0.1:4318'), 'http://127.0.0.1:4318/v1/logs');
    assert.equal(logsUrl('https://otel.example/custom/logs'), 'https://otel.example/custom/logs');
    assert.ok(sinks[1]!.sink instanceof OtlpSink);
    for (const s of sinks) void s.sink.close();
    const acked = new HecSink({ config: { ...structuredClone(cfg.splunk), ack: { enabled: true, pollMs: 100, timeoutMs: 1000 } }, document: () => '{}', hostName: 'h' });
    assert.match(acked.channel ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'a channel GUID when acks are on');
    void acked.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('otlp-map: semconv attributes from the ECS document, the peer per direction, severity, time, resource', () => {
  let sawFile = false;
  let sawNet = false;
  for (const ce of corpus()) {
    const doc = JSON.parse(ecsLine(ce, HOST, AGENT)) as Record<string, any>;
    const a = logAttributes(doc);
    assert.equal(a['process.pid'], doc.process.pid);
    assert.equal(a['process.executable.path'], doc.process.executable);
    assert.equal(a['process.executable.name'], doc.process.name);
    assert.equal(a['event.id'], doc.event.id);
    assert.equal(a['event.action'], doc.event.action);
    if (doc.process.args) assert.deepEqual(a['process.command_args'], doc.process.args);
    if (doc.file?.path) {
      sawFile = true;
      assert.equal(a['file.path'], doc.file.path);
    }
    if (doc.destination?.ip || doc.source?.ip) {
      sawNet = true;
      const peer = doc.network?.direction === 'ingress' ? doc.source : doc.destination;
      if (peer?.ip) assert.equal(a['network.peer.address'], peer.ip);
      if (peer?.port !== undefined) assert.equal(a['network.peer.port'], peer.port);
    }
    for (const v of Object.values(a)) assert.ok(['string', 'number', 'boolean'].includes(typeof v) || Array.isArray(v));
  }
  assert.ok(sawFile && sawNet, 'the corpus has file and network events');
  assert.deepEqual(logSeverity({ event: {} }), { number: 9, text: 'info' });
  assert.deepEqual(logSeverity({ event: {}, ebpf: { kind: 'loss' } }), { number: 13, text: 'loss' });
  assert.deepEqual(logSeverity({ event: { severity: 21 } }), { number: 13, text: 'low' });
  assert.deepEqual(logSeverity({ event: { severity: 47 } }), { number: 17, text: 'medium' });
  assert.deepEqual(logSeverity({ event: { severity: 73 } }), { number: 19, text: 'high' });
  assert.deepEqual(logSeverity({ event: { severity: 99 } }), { number: 21, text: 'critical' });
  assert.deepEqual(hrTimeOf('2026-11-23T16:12:00.123456789Z'), [1795450320, 123456789]);
  assert.deepEqual(hrTimeOf('2026-11-23T16:12:00Z'), [1795450320, 0]);
  const r = resourceAttributes(HOST, AGENT);
  assert.equal(r['host.name'], HOST.name);
  assert.equal(r['service.name'], AGENT.name);
  assert.equal(r['service.instance.id'], AGENT.id);
  assert.equal(r['os.type'], 'linux');
});

test('the HEC token is redacted wherever a log line carries it', async () => {
  const { pino } = await import('pino');
  const { REDACT_PATHS } = await import('../../src/telemetry/logger.js');
  const out: string[] = [];
  const log = pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, { write: (s: string) => void out.push(s) });
  log.info({ token: 'T1', splunk: { token: 'T2' }, config: { splunk: { token: 'T3' } } }, 'x');
  assert.doesNotMatch(out.join(''), /T1|T2|T3/);
  assert.equal((out.join('').match(/\[redacted\]/g) ?? []).length, 3);
});
