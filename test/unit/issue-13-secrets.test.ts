// issue 13, cases 7 and 8 (and the unknown-section finding): credentials in
// an Elasticsearch URL never reach a log line, an error or /health; an
// invalid environment override is reported without its value (it may be a
// SASL password); an EBPF_SENSOR_<SECTION>__KEY naming no section is an
// error, not silently ignored.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { isSensorError, redactUrlCredentials, SensorError } from '../../src/errors.js';
import { ElasticsearchSink, type ElasticsearchSinkConfig } from '../../src/sinks/elasticsearch/es-sink.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { SensorMetrics, type OutputsSnapshot } from '../../src/telemetry/metrics.js';
import { classified } from '../helpers/journal-fixtures.js';

const PASSWORD = 'hunter2-S3cret';
const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-issue13-secrets-'));

function configError(env: Record<string, string>): SensorError {
  try {
    loadConfig(undefined, env);
  } catch (e) {
    assert.ok(isSensorError(e, 'ESENSOR_CONFIG'), String(e));
    return e;
  }
  assert.fail('the override was accepted');
}

describe('issue-13: secrets', () => {
  test('issue-13-url-credentials: an Elasticsearch URL with user:password@ leaves no password in the log, the error or /health', async () => {
    const logFile = join(dir, 'log.ndjson');
    const fd = openSync(logFile, 'w');
    const log = createLogger({ fd, pretty: false, level: 'debug' });
    const node = `http://elastic:${PASSWORD}@127.0.0.1:1`;
    const base = loadConfig(undefined, { EBPF_SENSOR_ELASTICSEARCH__NODE: node }).elasticsearch;
    const config = { ...structuredClone(base), requestTimeoutMs: 2000, deadLetter: { ...base.deadLetter, path: join(dir, 'dead.ndjson') } } as ElasticsearchSinkConfig;
    const sink = new ElasticsearchSink({ config, document: (ce) => JSON.stringify(ce.event), sensorVersion: '0.1.0', log, itemRetries: 0 });
    let error: unknown;
    try {
      await sink.send([classified(1)]);
    } catch (e) {
      error = e;
    } finally {
      await sink.close();
    }
    assert.ok(isSensorError(error), `a coded error: ${String(error)}`);
    log.warn({ err: error, node }, 'sink failed at %s', node);
    log.flush();
    closeSync(fd);
    const text = readFileSync(logFile, 'utf8');
    assert.match(text, /127\.0\.0\.1:1/, 'the log names the node');
    assert.ok(!text.includes(PASSWORD), `no password in the log:\n${text}`);
    assert.ok(!String(error).includes(PASSWORD) && !(error as Error).message.includes(PASSWORD), `no password in the error: ${String(error)}`);

    // /health shows what the delivery loop kept of the error, as a client library may word it.
    const outputs = (): OutputsSnapshot => ({
      journal: { dir, firstPosition: 0, nextPosition: 1, durablePosition: 1, segments: 1, bytes: 100, appended: { records: 1, bytes: 100 }, fsyncs: 1, fsyncErrors: 0, deleted: { positions: 0 }, damage: { regions: 0 } },
      appendErrors: 0,
      appendLost: 0,
      sinks: [
        {
          name: 'elasticsearch',
          kind: 'elasticsearch',
          eventsIn: 1,
          eventsOut: 0,
          lastSuccess: undefined,
          delivery: { state: 'backoff', committed: 0, failures: 3, attempt: 3, lost: { retention: 0, damaged: 0 }, lag: { events: 1, seconds: 1 }, lastError: `ConnectionError: connect ECONNREFUSED ${node}/_bulk` },
          details: {},
        },
      ],
    }) as unknown as OutputsSnapshot;
    const metrics = new SensorMetrics({ version: '0.1.0', outputs }, { defaultMetrics: false });
    const health = JSON.stringify(metrics.health());
    assert.match(health, /ECONNREFUSED http:\/\/\[redacted\]@127\.0\.0\.1:1/);
    assert.ok(!health.includes(PASSWORD), health);
    assert.ok(!(await metrics.metrics()).includes(PASSWORD));
  });

  test('issue-13-url-credentials: redaction keeps the rest of the text', () => {
    assert.equal(redactUrlCredentials(`at https://u:${PASSWORD}@es:9200/x and http://plain:9200`), 'at https://[redacted]@es:9200/x and http://plain:9200');
    assert.equal(new SensorError('ESENSOR_SINK_UNAVAILABLE', `node http://a:${PASSWORD}@h down`).message, 'node http://[redacted]@h down');
  });

  test('issue-13-env-secrets: an invalid EBPF_SENSOR_KAFKA__SASL is reported without its value', () => {
    const bad = configError({ EBPF_SENSOR_KAFKA__SASL: `{"mechanism":"plain","username":"u","password":"${PASSWORD}"` });
    assert.match(String(bad), /EBPF_SENSOR_KAFKA__SASL/);
    assert.ok(!String(bad).includes(PASSWORD), String(bad));
    assert.ok(!bad.message.includes(PASSWORD), bad.message);
    const wrong = configError({ EBPF_SENSOR_KAFKA__SASL: `{"mechanism":"rot13","username":"u","password":"${PASSWORD}"}` });
    assert.ok(!wrong.message.includes(PASSWORD), wrong.message);
  });

  test('issue-13-env-sections: an override naming no section is an error naming the variable', () => {
    const e = configError({ EBPF_SENSOR_KAFAK__BROKERS: '["127.0.0.1:9092"]' });
    assert.match(String(e), /env:EBPF_SENSOR_KAFAK__BROKERS: no section "KAFAK"/);
    // Variables without "__" are not configuration.
    assert.doesNotThrow(() => loadConfig(undefined, { EBPF_SENSOR_LOG_LEVEL: 'debug', EBPF_SENSOR_TEST_SERVICES: '/tmp/x' }));
  });
});
