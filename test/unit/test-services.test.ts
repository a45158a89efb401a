// Issue #6: the pure parts of the test-services harness (test/services/):
// JDK version parsing, the server configurations it writes, the Maven
// dependency sets and the state file. The servers themselves are exercised
// by test/integration/services-*.test.ts.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSensorError } from '../../src/errors.js';
import { elasticsearchYml } from '../services/elasticsearch-service.js';
import { parseJavaVersion } from '../services/jdk.js';
import { kafkaDependencies, kafkaProperties } from '../services/kafka-service.js';
import { artifactPath } from '../services/maven.js';
import { loadServices } from '../services/services.js';
import { readState, writeState, STATE_ENV, type ServicesState } from '../services/state.js';

test('parseJavaVersion reads modern and legacy version strings', () => {
  assert.deepEqual(parseJavaVersion('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime'), { major: 17, version: '17.0.15' });
  assert.deepEqual(parseJavaVersion('openjdk version "25.0.3" 2026-04-21 LTS'), { major: 25, version: '25.0.3' });
  assert.deepEqual(parseJavaVersion('java version "1.8.0_392"'), { major: 8, version: '1.8.0_392' });
  assert.deepEqual(parseJavaVersion('openjdk version "21-ea" 2023-09-19'), { major: 21, version: '21-ea' });
  assert.equal(parseJavaVersion('command not found'), undefined);
});

function properties(text: string): Map<string, string> {
  return new Map(
    text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

test('Kafka is configured as one KRaft broker/controller listening on 127.0.0.1 only', () => {
  const p = properties(kafkaProperties({ port: 19092, controllerPort: 19093, dataDir: '/tmp/x/data' }));
  assert.equal(p.get('process.roles'), 'broker,controller');
  assert.equal(p.get('controller.quorum.voters'), `${p.get('node.id')}@127.0.0.1:19093`);
  assert.equal(p.get('listeners'), 'PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093');
  assert.equal(p.get('advertised.listeners'), 'PLAINTEXT://127.0.0.1:19092');
  assert.equal(p.get('log.dirs'), '/tmp/x/data');
  assert.equal(p.get('offsets.topic.replication.factor'), '1');
  assert.equal(p.get('transaction.state.log.min.isr'), '1');
  assert.ok(![...p.keys()].some((k) => k.startsWith('zookeeper')), 'no ZooKeeper');
});

test('Kafka jars come with the SLF4J binding its major logs through', () => {
  const v4 = kafkaDependencies('4.2.2');
  assert.deepEqual(v4[0], { groupId: 'org.apache.kafka', artifactId: 'kafka_2.13', version: '4.2.2' });
  assert.equal(v4[1]!.artifactId, 'log4j-slf4j-impl');
  assert.deepEqual(v4[1]!.exclusions, ['org.slf4j:slf4j-api'], "Kafka's SLF4J API version wins");
  assert.equal(kafkaDependencies('3.9.2')[1]!.artifactId, 'slf4j-reload4j');
});

test('Elasticsearch is configured as a single loopback node without security or disk watermarks', () => {
  const yml = elasticsearchYml({ name: 'es', port: 19200, transportPort: 19300, dataDir: '/d', logsDir: '/l' });
  const s = new Map(
    yml
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf(':')), JSON.parse(l.slice(l.indexOf(':') + 1)) as unknown]),
  );
  assert.equal(s.get('network.host'), '127.0.0.1');
  assert.equal(s.get('http.port'), 19200);
  assert.equal(s.get('transport.port'), 19300);
  assert.equal(s.get('discovery.type'), 'single-node');
  assert.equal(s.get('xpack.security.enabled'), false);
  assert.equal(s.get('cluster.routing.allocation.disk.threshold_enabled'), false);
  assert.equal(s.get('path.data'), '/d');
});

test('artifacts are looked up in the local Maven repository layout', () => {
  const prev = process.env.EBPF_SENSOR_TEST_M2;
  process.env.EBPF_SENSOR_TEST_M2 = '/m2';
  try {
    assert.equal(
      artifactPath({ groupId: 'org.elasticsearch.distribution.integ-test-zip', artifactId: 'elasticsearch', version: '9.4.3', type: 'zip' }),
      '/m2/org/elasticsearch/distribution/integ-test-zip/elasticsearch/9.4.3/elasticsearch-9.4.3.zip',
    );
  } finally {
    if (prev === undefined) delete process.env.EBPF_SENSOR_TEST_M2;
    else process.env.EBPF_SENSOR_TEST_M2 = prev;
  }
});

test('the state file round-trips and anything else is refused by name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'state-test-'));
  try {
    const file = join(dir, 'state.json');
    const state: ServicesState = { format: 1, dir, owner: 1, createdAt: 'now', services: {} };
    writeState(file, state);
    assert.deepEqual(readState(file), state);
    writeFileSync(file, '{"format": 2}');
    assert.throws(() => readState(file), (e: unknown) => isSensorError(e, 'ESENSOR_SERVICE') && e.message.includes(file));
    assert.throws(() => readState(join(dir, 'missing.json')), (e: unknown) => isSensorError(e, 'ESENSOR_SERVICE'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('integration tests without a running harness get told how to start it', () => {
  const prev = process.env[STATE_ENV];
  delete process.env[STATE_ENV];
  try {
    assert.throws(
      () => loadServices(),
      (e: unknown) => isSensorError(e, 'ESENSOR_SERVICE') && e.message.includes(STATE_ENV) && e.message.includes('scripts/test.js integration'),
    );
  } finally {
    if (prev !== undefined) process.env[STATE_ENV] = prev;
  }
});
