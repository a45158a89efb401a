// Issue #7: the Elasticsearch sink's pieces that need no server — bulk answer
// classification (201/409 delivered, 429/5xx retried, the rest dead-lettered),
// client options (API key, basic auth, TLS), the templates built from the
// vendored ECS files, the fallbacks for field types a server lacks, and the
// ebpf.* mapping covering every custom field the normalizer writes. The
// integration tests (es-sink*.test.ts) run the sink against real 9.x and 8.x
// servers.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errors } from '@elastic/elasticsearch';
import { loadConfig } from '../../src/config/config.js';
import { classifyBulkItems, elasticsearchClientOptions, type ElasticsearchSinkConfig } from '../../src/sinks/elasticsearch/es-sink.js';
import {
  EBPF_FIELDS,
  ECS_COMPONENTS,
  TYPE_FALLBACKS,
  applyFallbacks,
  buildTemplates,
  ecsComponentDir,
  missingFeature,
  type Mapping,
} from '../../src/sinks/elasticsearch/es-templates.js';
import { toEcs } from '../../src/normalize/ecs/ecs.js';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import { AGENT, HOST, corpus, lossEvent } from '../helpers/normalize-corpus.js';
import { tempDir } from '../helpers/journal-fixtures.js';

function config(over: Partial<ElasticsearchSinkConfig> = {}): ElasticsearchSinkConfig {
  const base = loadConfig(undefined, { EBPF_SENSOR_ELASTICSEARCH__NODE: 'http://127.0.0.1:9200' }).elasticsearch;
  return { ...structuredClone(base), ...over } as ElasticsearchSinkConfig;
}

test('bulk answers: 201 created, 409 already there (delivered), 429/5xx retried, 401/403/404 block the batch (issue-13), other refusals rejected with their reason', () => {
  const reason = { type: 'document_parsing_exception', reason: 'failed to parse field [source.ip] of type [ip]' };
  const out = classifyBulkItems(
    [
      { create: { status: 201 } },
      { create: { status: 409, error: { type: 'version_conflict_engine_exception' } } },
      { create: { status: 429, error: { type: 'es_rejected_execution_exception' } } },
      { create: { status: 400, error: reason } },
      { create: { status: 503, error: { type: 'unavailable_shards_exception' } } },
      { create: { status: 404, error: { type: 'index_not_found_exception' } } },
      { create: { status: 201 } },
    ],
    7,
  );
  assert.equal(out.created, 2);
  assert.equal(out.duplicates, 1);
  assert.deepEqual(out.retry, [2, 4]);
  assert.deepEqual(out.rejected, [{ index: 3, status: 400, reason }]);
  // issue 13: 401/403/404 are the cluster's setup, not the document: retried, never dead-lettered.
  assert.deepEqual(out.blocked, [{ index: 5, status: 404, reason: { type: 'index_not_found_exception' } }]);
  assert.throws(() => classifyBulkItems([{ create: { status: 201 } }], 2), /answered 1 bulk items for 2 documents/);
});

test('client options: API key or basic auth (from the config or files), TLS for https', () => {
  const { dir, cleanup } = tempDir('es-auth-');
  try {
    writeFileSync(join(dir, 'key'), 'ZW5jb2RlZA==\n');
    writeFileSync(join(dir, 'pw'), 'pw-from-file\n');
    writeFileSync(join(dir, 'ca.pem'), 'CA PEM');
    assert.deepEqual(elasticsearchClientOptions(config()), { node: 'http://127.0.0.1:9200', requestTimeout: 30000, maxRetries: 2, sniffOnStart: false });
    assert.deepEqual(elasticsearchClientOptions(config({ auth: { apiKey: 'abc' } })).auth, { apiKey: 'abc' });
    assert.deepEqual(elasticsearchClientOptions(config({ auth: { apiKeyFile: join(dir, 'key') } })).auth, { apiKey: 'ZW5jb2RlZA==' });
    assert.deepEqual(elasticsearchClientOptions(config({ auth: { username: 'sensor', password: 'pw' } })).auth, { username: 'sensor', password: 'pw' });
    assert.deepEqual(elasticsearchClientOptions(config({ auth: { username: 'sensor', passwordFile: join(dir, 'pw') } })).auth, { username: 'sensor', password: 'pw-from-file' });
    assert.throws(() => elasticsearchClientOptions(config({ auth: { username: 'sensor' } })), /needs password or passwordFile/);
    assert.throws(() => elasticsearchClientOptions(config({ auth: { apiKey: 'a', username: 'b', password: 'c' } })), /API key or a username, not both/);
    const tls = elasticsearchClientOptions(config({ node: 'https://es.internal:9200', tls: { ca: join(dir, 'ca.pem'), rejectUnauthorized: true, servername: 'es.internal' } })).tls!;
    assert.equal(String(tls.ca), 'CA PEM');
    assert.equal(tls.rejectUnauthorized, true);
    assert.equal(tls.servername, 'es.internal');
    assert.equal(elasticsearchClientOptions(config({ node: 'https://es:9200', tls: { rejectUnauthorized: false } })).tls!.rejectUnauthorized, false);
    assert.throws(() => elasticsearchClientOptions(config({ node: undefined })), /elasticsearch.node is not set/);
    // The compose file's environment is accepted; a URL without a scheme is not.
    assert.equal(loadConfig(undefined, { EBPF_SENSOR_ELASTICSEARCH__NODE: 'http://elasticsearch:9200' }).elasticsearch.node, 'http://elasticsearch:9200');
    assert.throws(() => loadConfig(undefined, { EBPF_SENSOR_ELASTICSEARCH__NODE: 'elasticsearch:9200' }), /elasticsearch.node must match pattern/);
  } finally {
    cleanup();
  }
});

test('templates: vendored ECS components of the field sets we write, the ebpf.* and settings components, an index template for exactly the two data streams', () => {
  const set = buildTemplates({ name: 'ebpf-sensor', dataStreams: ['logs-ebpf_sensor.alerts-default', 'logs-ebpf_sensor.events-default'], priority: 200, sensorVersion: '9.9.9' });
  assert.deepEqual(
    set.components.map((c) => c.name),
    [...ECS_COMPONENTS.map((c) => `ebpf-sensor@ecs-${c}`), 'ebpf-sensor@ebpf', 'ebpf-sensor@defend-aliases', 'ebpf-sensor@settings'],
  );
  const it = set.indexTemplate.body as { index_patterns: string[]; data_stream: object; priority: number; composed_of: string[]; _meta: Record<string, string> };
  assert.deepEqual(it.index_patterns, ['logs-ebpf_sensor.alerts-default', 'logs-ebpf_sensor.events-default']);
  assert.deepEqual(it.data_stream, {});
  assert.ok(it.priority > 100, 'above the built-in logs-*-* template');
  assert.deepEqual(it.composed_of, set.components.map((c) => c.name));
  assert.equal(it._meta.managed_by, 'ebpf-sensor');
  assert.equal(it._meta.ecs_version, '9.4.0');
  assert.equal(it._meta.sensor_version, '9.9.9');
  const processComponent = set.components.find((c) => c.name === 'ebpf-sensor@ecs-process')!;
  const vendored = JSON.parse(readFileSync(join(ecsComponentDir(), 'component/process.json'), 'utf8')) as { template: unknown };
  assert.deepEqual(processComponent.body.template, vendored.template, 'ECS components are installed as vendored');
  const settings = set.components.find((c) => c.name === 'ebpf-sensor@settings')!.body.template as { settings: Mapping; mappings: Mapping };
  assert.equal((settings.mappings as { date_detection: boolean }).date_detection, false);
  assert.ok(JSON.stringify(settings.mappings).includes('strings_as_keyword'));
});

test("issue-16 templates: Elastic Defend's Ext names the prebuilt rules query are aliases of mapped fields of ours, and no document field", () => {
  const set = buildTemplates({ name: 'ebpf-sensor', dataStreams: ['logs-ebpf_sensor.events-default'], priority: 200, sensorVersion: '9.9.9' });
  const leaves = new Map<string, Mapping>();
  const walk = (props: Mapping, prefix: string): void => {
    for (const [k, v] of Object.entries(props)) {
      const m = v as Mapping;
      if (m.properties) walk(m.properties as Mapping, `${prefix}${k}.`);
      else leaves.set(`${prefix}${k}`, m);
    }
  };
  for (const c of set.components) walk((c.body.template.mappings?.properties ?? {}) as Mapping, '');
  const aliases = [...leaves].filter(([, m]) => m.type === 'alias');
  assert.deepEqual(aliases.map(([n]) => n).sort(), ['file.Ext.original.extension', 'file.Ext.original.name', 'file.Ext.original.path', 'group.Ext.real.id', 'group.Ext.real.name', 'user.Ext.real.id', 'user.Ext.real.name']);
  // Elasticsearch validates each component on its own: the alias component maps each target too, as the component defining it does.
  const own = new Map<string, Mapping>();
  const ownWalk = (props: Mapping, prefix: string): void => {
    for (const [k, v] of Object.entries(props)) {
      const m = v as Mapping;
      if (m.properties) ownWalk(m.properties as Mapping, `${prefix}${k}.`);
      else own.set(`${prefix}${k}`, m);
    }
  };
  const aliasComponent = set.components.find((c) => c.name === 'ebpf-sensor@defend-aliases')!;
  ownWalk((aliasComponent.body.template.mappings?.properties ?? {}) as Mapping, '');
  for (const [name, m] of aliases) {
    const target = leaves.get(m.path as string);
    assert.ok(target && target.type !== 'alias', `${name} → ${String(m.path)} is a mapped field`);
    assert.deepEqual(own.get(m.path as string), target, `${String(m.path)} mapped in the alias component as elsewhere`);
  }
});

test('the vendored ECS templates are the official ones (equal to ../shared when present) with their license', () => {
  const dir = ecsComponentDir();
  assert.ok(existsSync(join(dir, '../LICENSE.txt')));
  for (const c of ECS_COMPONENTS) assert.ok(existsSync(join(dir, 'component', `${c}.json`)), c);
  const shared = join(packageRoot, '../shared/reference/ecs/composable');
  if (!existsSync(shared)) return;
  for (const f of ['template.json', ...readdirSync(join(shared, 'component')).map((c) => `component/${c}`)]) {
    assert.ok(readFileSync(join(shared, f)).equals(readFileSync(join(dir, f))), `schemas/ecs/composable/${f} differs from ../shared`);
  }
});

test('fallbacks: wildcard→keyword (with ignore_above), match_only_text→text, constant_keyword→keyword, scaled_float→float; unknown parameters dropped', () => {
  const m = {
    properties: {
      command_line: { type: 'wildcard', fields: { text: { type: 'match_only_text' } } },
      message: { type: 'match_only_text' },
      ds: { type: 'constant_keyword', value: 'x' },
      score: { type: 'scaled_float', scaling_factor: 1000 },
      category: { type: 'keyword', ignore_above: 1024, synthetic_source_keep: 'none' },
      plain: { type: 'wildcard', ignore_above: 512 },
    },
  };
  const none = applyFallbacks(m, { types: new Set(), params: new Set() });
  assert.deepEqual(none, m, 'nothing changes for a full distribution');
  const all = applyFallbacks(m, { types: new Set(Object.keys(TYPE_FALLBACKS)), params: new Set(['synthetic_source_keep']) });
  assert.deepEqual(all, {
    properties: {
      command_line: { type: 'keyword', fields: { text: { type: 'text' } }, ignore_above: 8191 },
      message: { type: 'text' },
      ds: { type: 'keyword' },
      score: { type: 'float' },
      category: { type: 'keyword', ignore_above: 1024 },
      plain: { type: 'keyword', ignore_above: 512 },
    },
  });
  const refused = (reason: string): errors.ResponseError =>
    new errors.ResponseError({
      body: { error: { type: 'mapper_parsing_exception', reason } },
      statusCode: 400,
      headers: {},
      warnings: null,
      meta: {} as never,
    });
  assert.deepEqual(missingFeature(refused('Failed to parse mapping: The mapper type [wildcard] declared on field [command_line] does not exist.')), { type: 'wildcard' });
  assert.deepEqual(missingFeature(refused('No handler for type [match_only_text] declared on field [message]')), { type: 'match_only_text' });
  assert.deepEqual(missingFeature(refused('unknown parameter [synthetic_source_keep] on mapper [category] of type [keyword]')), { param: 'synthetic_source_keep' });
  assert.equal(missingFeature(refused('something else')), undefined);
  assert.equal(missingFeature(new Error('connect ECONNREFUSED')), undefined);
});

/** Every leaf path under `ebpf` of a document. */
function ebpfLeaves(doc: Record<string, unknown>): Set<string> {
  const out = new Set<string>();
  const walk = (p: string, v: unknown): void => {
    if (p === 'raw_bytes') {
      out.add(p);
      return;
    }
    if (Array.isArray(v)) return v.forEach((x) => walk(p, x));
    if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) walk(p ? `${p}.${k}` : k, x);
      return;
    }
    out.add(p);
  };
  walk('', doc.ebpf);
  return out;
}

test('the ebpf.* mapping names every custom field the ECS normalizer writes, with a type that fits its values', () => {
  const gap = lossEvent();
  gap.ebpf.loss = { kernel: 0, reader: 0, interval_s: 0, sink: 'kafka', reason: 'retention', count: 10, from: 5, to: 15 };
  const hostile = corpus()[0]!;
  hostile.event.file = { path: '/tmp/\udcff' };
  hostile.event.ebpf.truncated = ['file.path'];
  hostile.event.ebpf.entry_lost = true;
  hostile.event.ebpf.exec = { filename: '/bin/x', interpreter: '/bin/sh', argv_truncated: true, args: ['x'] };
  hostile.event.ebpf.exit = { status: 9, signal: 9 };
  hostile.event.ebpf.process = { ...hostile.event.ebpf.process, is_thread: true, fsgid: '99' };
  const docs = [...corpus(), { event: gap, verdict: { classification: 'normal' as const, matches: [] } }, hostile].map((ce) => toEcs(ce, HOST, AGENT));
  const seen = new Set<string>();
  for (const d of docs) for (const leaf of ebpfLeaves(d)) seen.add(leaf);
  const missing = [...seen].filter((f) => !(f in EBPF_FIELDS));
  assert.deepEqual(missing, [], 'fields without a mapping');
  // Types fit the values.
  for (const d of docs) {
    const walk = (p: string, v: unknown): void => {
      if (Array.isArray(v)) return v.forEach((x) => walk(p, x));
      if (p === 'raw_bytes' || (v && typeof v === 'object')) {
        if (p !== 'raw_bytes') for (const [k, x] of Object.entries(v as object)) walk(p ? `${p}.${k}` : k, x);
        return;
      }
      const type = EBPF_FIELDS[p]!.type;
      if (typeof v === 'number') assert.equal(type, 'long', `ebpf.${p} = ${v}`);
      else if (typeof v === 'boolean') assert.equal(type, 'boolean', `ebpf.${p}`);
      else assert.equal(type, 'keyword', `ebpf.${p} = ${String(v)}`);
    };
    walk('', d.ebpf);
  }
  assert.equal(EBPF_FIELDS.raw_bytes!.type, 'flattened', 'raw_bytes keys are ECS field names with dots');
});
