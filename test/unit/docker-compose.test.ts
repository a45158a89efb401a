// Issue #6: docker-compose.yml (sensor + Kafka + Elasticsearch + Kibana) and
// the sensor's Dockerfile. Docker cannot run here, so the files are checked
// for what `docker compose` and the images need: known keys, pinned images
// at the versions the integration tests run, KRaft settings, healthchecks,
// the sensor's privileges and mounts, and env wiring the sensor's own config
// loader accepts.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/config.js';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import { DEFAULT_ES_VERSION } from '../services/elasticsearch-service.js';
import { DEFAULT_KAFKA_VERSION } from '../services/kafka-service.js';

interface Healthcheck {
  test: string[];
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
}
interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string | number | boolean>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: Healthcheck;
  depends_on?: Record<string, { condition: string }>;
  privileged?: boolean;
  pid?: string;
  uts?: string;
  [key: string]: unknown;
}
interface Compose {
  name?: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parse(readFileSync(join(packageRoot, 'docker-compose.yml'), 'utf8'), { strict: true, uniqueKeys: true }) as Compose;
const svc = (name: string): Service => {
  const s = compose.services[name];
  assert.ok(s, `service ${name} exists`);
  return s;
};
const env = (name: string): Record<string, string> =>
  Object.fromEntries(Object.entries(svc(name).environment ?? {}).map(([k, v]) => [k, String(v)]));

// Service keys of the Compose specification that this file may use; a typo
// ("healtcheck") would otherwise be ignored by nothing but Docker.
const SERVICE_KEYS = new Set([
  'build', 'image', 'hostname', 'environment', 'ports', 'volumes', 'healthcheck', 'depends_on', 'restart',
  'privileged', 'pid', 'uts', 'cgroup', 'ulimits', 'command', 'entrypoint', 'user', 'cap_add', 'cap_drop', 'network_mode', 'networks',
  'mem_limit', 'container_name', 'labels', 'logging', 'security_opt', 'tmpfs', 'working_dir',
]);

test('docker-compose.yml has the four services and only known keys', () => {
  assert.deepEqual(Object.keys(compose.services).sort(), ['elasticsearch', 'kafka', 'kibana', 'sensor']);
  for (const [name, s] of Object.entries(compose.services)) {
    for (const key of Object.keys(s)) assert.ok(SERVICE_KEYS.has(key), `services.${name}.${key} is not a Compose service key`);
    assert.ok(['unless-stopped', 'always', 'on-failure', 'no', undefined].includes(s.restart as string | undefined));
  }
});

test('images are pinned to the versions the integration tests run', () => {
  assert.equal(svc('kafka').image, `apache/kafka:${DEFAULT_KAFKA_VERSION}`);
  assert.equal(svc('elasticsearch').image, `docker.elastic.co/elasticsearch/elasticsearch:${DEFAULT_ES_VERSION}`);
  assert.equal(svc('kibana').image, `docker.elastic.co/kibana/kibana:${DEFAULT_ES_VERSION}`, 'Kibana matches Elasticsearch');
  for (const [name, s] of Object.entries(compose.services)) {
    assert.match(s.image ?? '', /:\d+\.\d+\.\d+$/, `${name}: image with an exact version tag`);
  }
  const sensor = svc('sensor');
  assert.deepEqual(sensor.build, { context: '.', dockerfile: 'Dockerfile' });
  const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  assert.equal(sensor.image, `ebpf-sensor:${pkg.version}`);
});

test('Kafka runs one combined KRaft broker/controller reachable as kafka:9092', () => {
  const e = env('kafka');
  assert.deepEqual(e.KAFKA_PROCESS_ROLES!.split(',').sort(), ['broker', 'controller']);
  assert.equal(e.KAFKA_CONTROLLER_QUORUM_VOTERS, `${e.KAFKA_NODE_ID}@kafka:9093`);
  assert.equal(svc('kafka').hostname, 'kafka');
  const listeners = new Map(e.KAFKA_LISTENERS!.split(',').map((l) => [l.split('://')[0]!, l.split(':').pop()!]));
  const protocols = new Map(e.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP!.split(',').map((p) => p.split(':') as [string, string]));
  for (const adv of e.KAFKA_ADVERTISED_LISTENERS!.split(',')) {
    const [name, rest] = adv.split('://') as [string, string];
    assert.equal(listeners.get(name), rest.split(':')[1], `advertised ${name} port matches its listener`);
    assert.ok(protocols.has(name), `${name} has a security protocol`);
  }
  assert.ok(e.KAFKA_ADVERTISED_LISTENERS!.includes('PLAINTEXT://kafka:9092'));
  assert.equal(e.KAFKA_CONTROLLER_LISTENER_NAMES, 'CONTROLLER');
  assert.ok(listeners.has('CONTROLLER') && !e.KAFKA_ADVERTISED_LISTENERS!.includes('CONTROLLER'));
  // kafka-storage wants 16 bytes in URL-safe base64 without padding.
  assert.equal(Buffer.from(e.CLUSTER_ID!, 'base64url').length, 16);
  assert.equal(Buffer.from(e.CLUSTER_ID!, 'base64url').toString('base64url'), e.CLUSTER_ID);
  for (const k of ['KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR', 'KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR', 'KAFKA_TRANSACTION_STATE_LOG_MIN_ISR']) {
    assert.equal(e[k], '1', `${k}: a single broker`);
  }
  assert.ok(svc('kafka').volumes!.includes(`kafka-data:${e.KAFKA_LOG_DIRS}`), 'the log directory is a volume');
});

test('Elasticsearch is a single node without security; Kibana points at it', () => {
  const e = env('elasticsearch');
  assert.equal(e['discovery.type'], 'single-node');
  assert.equal(e['xpack.security.enabled'], 'false');
  assert.match(e.ES_JAVA_OPTS!, /-Xms(\d+[gm]) -Xmx\1/, 'fixed heap');
  assert.ok(svc('elasticsearch').volumes!.includes('es-data:/usr/share/elasticsearch/data'));
  assert.equal(env('kibana').ELASTICSEARCH_HOSTS, '["http://elasticsearch:9200"]');
  assert.deepEqual(svc('kibana').depends_on, { elasticsearch: { condition: 'service_healthy' } });
});

test('every service has a healthcheck that Docker can run, and dependencies wait for it', () => {
  const duration = /^\d+(ms|s|m|h)$/;
  for (const [name, s] of Object.entries(compose.services)) {
    const h = s.healthcheck;
    assert.ok(h, `${name} has a healthcheck`);
    assert.ok(['CMD', 'CMD-SHELL'].includes(h.test[0]!) && h.test.length >= 2, `${name}: test is [CMD|CMD-SHELL, …]`);
    for (const k of ['interval', 'timeout', 'start_period'] as const) if (h[k] !== undefined) assert.match(h[k]!, duration, `${name}.${k}`);
    assert.ok(Number.isInteger(h.retries) && h.retries! > 0);
    for (const [dep, cond] of Object.entries(s.depends_on ?? {})) {
      assert.ok(compose.services[dep], `${name} depends on existing ${dep}`);
      assert.equal(cond.condition, 'service_healthy');
    }
  }
  assert.match(svc('kafka').healthcheck!.test[1]!, /kafka-broker-api-versions\.sh --bootstrap-server localhost:9092/);
  assert.match(svc('elasticsearch').healthcheck!.test[1]!, /_cluster\/health\?wait_for_status=yellow/);
});

test('published ports are bound to 127.0.0.1 only and named volumes are declared', () => {
  for (const [name, s] of Object.entries(compose.services)) {
    for (const p of s.ports ?? []) assert.match(p, /^127\.0\.0\.1:\d+:\d+$/, `${name} publishes ${p} on loopback only`);
    for (const v of s.volumes ?? []) {
      const [src] = v.split(':');
      if (!src!.startsWith('/') && !src!.startsWith('.')) assert.ok(src! in (compose.volumes ?? {}), `${name}: volume ${src} is declared`);
      assert.match(v, /^[^:]+:\/[^:]*(:(ro|rw)(,rslave|,rprivate|,z|,Z)?)?$/, `${name}: volume ${v}`);
    }
  }
});

test('the sensor runs unprivileged with the BPF capabilities in the host PID namespace with BTF, tracefs, bpffs and the host root', () => {
  const s = svc('sensor');
  assert.notEqual(s.privileged, true, 'not privileged');
  assert.deepEqual(s.cap_drop, ['ALL']);
  assert.deepEqual(new Set(s.cap_add as string[]), new Set(['BPF', 'PERFMON', 'SYS_PTRACE', 'DAC_READ_SEARCH', 'SYS_RESOURCE', 'KILL']));
  // The same set as the systemd unit grants (packaging/systemd/ebpf-sensor.service).
  const unit = readFileSync(join(packageRoot, 'packaging/systemd/ebpf-sensor.service'), 'utf8');
  const unitCaps = /^CapabilityBoundingSet=(.*)$/m.exec(unit)![1]!.trim().split(/\s+/).map((c) => c.replace(/^CAP_/, ''));
  assert.deepEqual(new Set(s.cap_add as string[]), new Set(unitCaps));
  assert.equal(s.pid, 'host');
  assert.equal(s.uts, 'host');
  assert.equal(s.cgroup, 'host', 'host cgroup paths: container ids of the host');
  const vols = s.volumes!;
  assert.ok(vols.includes('/sys/kernel/btf:/sys/kernel/btf:ro'));
  assert.ok(vols.includes('/sys/kernel/tracing:/sys/kernel/tracing:ro'));
  assert.ok(vols.includes('/sys/fs/bpf:/sys/fs/bpf'));
  assert.ok(vols.some((v) => /^\/:\/host:ro/.test(v)), 'host root read-only');
  assert.equal(env('sensor').EBPF_SENSOR_HOST__ROOT, '/host', 'container mode reads the host root it mounts');
  assert.equal(loadConfig(undefined, env('sensor')).host.root, '/host', 'the loader accepts it');
  assert.deepEqual(s.depends_on, { kafka: { condition: 'service_healthy' }, elasticsearch: { condition: 'service_healthy' } });
  assert.deepEqual(s.healthcheck!.test.slice(0, 3), ['CMD', 'node', '-e'], 'health from /health: the slim image has no procps');
  assert.match(s.healthcheck!.test[3]!, /127\.0\.0\.1:9464\/health/);
});

test('the sensor is wired to Kafka and Elasticsearch by environment overrides the config loader accepts', (t) => {
  const e = env('sensor');
  assert.deepEqual(JSON.parse(e.EBPF_SENSOR_KAFKA__BROKERS!), ['kafka:9092']);
  assert.equal(e.EBPF_SENSOR_ELASTICSEARCH__NODE, 'http://elasticsearch:9200');
  // The sensor's own loader: sections it does not know yet are skipped; once
  // they exist, the values must validate and arrive as written.
  const cfg = loadConfig(undefined, e) as unknown as Record<string, Record<string, unknown> | undefined>;
  if (cfg.kafka && 'brokers' in cfg.kafka) {
    const b = cfg.kafka.brokers;
    assert.deepEqual(Array.isArray(b) ? b : String(b).split(','), ['kafka:9092']);
  } else t.diagnostic('config has no kafka.brokers yet: EBPF_SENSOR_KAFKA__BROKERS is ignored until the Kafka sink lands');
  if (cfg.elasticsearch && 'node' in cfg.elasticsearch) {
    const n = cfg.elasticsearch.node;
    assert.deepEqual(Array.isArray(n) ? n : [n], ['http://elasticsearch:9200']);
  } else t.diagnostic('config has no elasticsearch.node yet: EBPF_SENSOR_ELASTICSEARCH__NODE is ignored until the Elasticsearch sink lands');
});

test('the Dockerfile builds in a toolchain stage and runs from a slim stage without a compiler', () => {
  const df = readFileSync(join(packageRoot, 'Dockerfile'), 'utf8');
  const lines = df.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
  const froms = lines.filter((l) => l.startsWith('FROM '));
  assert.deepEqual(froms, ['FROM node:20-bookworm AS build', 'FROM node:20-bookworm-slim AS runtime']);
  const build = lines.slice(0, lines.indexOf(froms[1]!)).join('\n');
  const runtime = lines.slice(lines.indexOf(froms[1]!)).join('\n');
  assert.match(build, /sh scripts\/setup\.sh/, 'the toolchain in the build stage');
  assert.match(build, /npm pack/, 'the runtime installs what npm ships');
  assert.doesNotMatch(runtime, /clang|gcc|libbpf-dev|bpftool|setup\.sh|build-essential|make /, 'no compiler in the runtime stage');
  assert.match(runtime, /npm install -g --omit=dev --ignore-scripts/);
  assert.match(runtime, /libelf1/, 'the addon links libelf.so.1');
  const entry = lines.find((l) => l.startsWith('ENTRYPOINT'))!;
  assert.deepEqual(JSON.parse(entry.slice('ENTRYPOINT'.length)), ['ebpf-sensor']);
  assert.deepEqual(JSON.parse(lines.find((l) => l.startsWith('CMD'))!.slice(3)), ['run']);
  const ignore = readFileSync(join(packageRoot, '.dockerignore'), 'utf8').split('\n');
  for (const p of ['node_modules', 'dist', 'native/build', 'native/prebuilds', 'bpf/.output']) assert.ok(ignore.includes(p), `.dockerignore ${p}`);
});
