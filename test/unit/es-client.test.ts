// The Elasticsearch client factory (src/sinks/elasticsearch/es-client.ts):
// which headers go to which server major, and how the version is read. The
// HTTP layer is replaced by a recording connection (no network); the real
// 8.x and 9.x servers are in test/integration/services-elasticsearch*.test.ts.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BaseConnection,
  errors,
  SniffingTransport,
  type ConnectionRequestOptions,
  type ConnectionRequestOptionsAsStream,
  type ConnectionRequestParams,
  type ConnectionRequestResponse,
  type ConnectionRequestResponseAsStream,
} from '@elastic/elasticsearch';
import { isSensorError } from '../../src/errors.js';
import {
  CLIENT_MAJOR,
  clientOptionsForServer,
  compatibilityHeaders,
  createElasticsearchClient,
  detectServerVersion,
  parseServerVersion,
} from '../../src/sinks/elasticsearch/es-client.js';
import { packageRoot } from '../../src/sources/kernel/paths.js';

interface Reply {
  status: number;
  body: unknown;
}
let route: (params: ConnectionRequestParams) => Reply = () => ({ status: 200, body: {} });
const seen: ConnectionRequestParams[] = [];

/** Answers like an Elasticsearch node from `route`, and records every request. */
class RecordingConnection extends BaseConnection {
  override request(params: ConnectionRequestParams, options: ConnectionRequestOptions): Promise<ConnectionRequestResponse>;
  override request(params: ConnectionRequestParams, options: ConnectionRequestOptionsAsStream): Promise<ConnectionRequestResponseAsStream>;
  override async request(params: ConnectionRequestParams): Promise<ConnectionRequestResponse | ConnectionRequestResponseAsStream> {
    seen.push(params);
    const r = route(params);
    return {
      body: JSON.stringify(r.body),
      statusCode: r.status,
      headers: { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' },
    };
  }

  override async close(): Promise<void> {}
}

const base = { node: 'http://127.0.0.1:9200', Connection: RecordingConnection, maxRetries: 0 };

function nodes(...versions: string[]): Reply {
  return { status: 200, body: { nodes: Object.fromEntries(versions.map((v, i) => [`n${i}`, { version: v }])) } };
}

test('CLIENT_MAJOR is the major of the installed @elastic/elasticsearch', () => {
  const pkg = JSON.parse(readFileSync(join(packageRoot, 'node_modules/@elastic/elasticsearch/package.json'), 'utf8')) as { version: string };
  assert.equal(Number(pkg.version.split('.')[0]), CLIENT_MAJOR);
});

test('compatibility headers: compatible-with=8 for 8.x, client defaults for 9.x and newer, 7.x refused', () => {
  assert.deepEqual(compatibilityHeaders(8), {
    jsonContentType: 'application/vnd.elasticsearch+json; compatible-with=8',
    ndjsonContentType: 'application/vnd.elasticsearch+x-ndjson; compatible-with=8',
    accept: 'application/vnd.elasticsearch+json; compatible-with=8,text/plain',
  });
  assert.equal(compatibilityHeaders(9), undefined);
  assert.equal(compatibilityHeaders(10), undefined);
  assert.throws(() => compatibilityHeaders(7), (e: unknown) => isSensorError(e, 'ESENSOR_SINK_CONFIG') && /7\.x is not supported/.test(e.message));
});

test('parseServerVersion reads major and minor, refuses garbage', () => {
  assert.deepEqual(parseServerVersion('8.19.21'), { number: '8.19.21', major: 8, minor: 19 });
  assert.deepEqual(parseServerVersion('9.4.3-SNAPSHOT'), { number: '9.4.3-SNAPSHOT', major: 9, minor: 4 });
  assert.throws(() => parseServerVersion('latest'), (e: unknown) => isSensorError(e, 'ESENSOR_SINK_UNAVAILABLE'));
});

test('a client for an 8.x server sends compatible-with=8 on JSON and on bulk NDJSON requests', async () => {
  route = (p) =>
    p.path.startsWith('/_nodes') ? nodes('8.19.21') : p.path.endsWith('_bulk') ? { status: 200, body: { errors: false, items: [] } } : { status: 200, body: {} };
  seen.length = 0;
  const { client, server, compatibilityMode } = await createElasticsearchClient(base);
  assert.equal(server.major, 8);
  assert.equal(compatibilityMode, true);
  // The version probe itself used plain JSON, which every major accepts.
  assert.equal(seen[0]!.headers!.accept, 'application/json');
  seen.length = 0;
  await client.search({ index: 'x', query: { match_all: {} } });
  await client.bulk({ operations: [{ create: { _index: 'x', _id: '1' } }, { a: 1 }] });
  await client.close();
  const [search, bulk] = seen;
  assert.equal(search!.headers!.accept, 'application/vnd.elasticsearch+json; compatible-with=8');
  assert.equal(search!.headers!['content-type'], 'application/vnd.elasticsearch+json; compatible-with=8');
  assert.equal(bulk!.headers!['content-type'], 'application/vnd.elasticsearch+x-ndjson; compatible-with=8');
  assert.equal(bulk!.headers!.accept, 'application/vnd.elasticsearch+json; compatible-with=8');
});

test('a client for a 9.x server keeps the client defaults (compatible-with=9)', async () => {
  route = (p) => (p.path.startsWith('/_nodes') ? nodes('9.4.3') : { status: 200, body: {} });
  const { client, compatibilityMode } = await createElasticsearchClient(base);
  assert.equal(compatibilityMode, false);
  seen.length = 0;
  await client.search({ index: 'x' });
  await client.close();
  assert.equal(seen[0]!.headers!['content-type'], 'application/vnd.elasticsearch+json; compatible-with=9');
});

test('clientOptionsForServer keeps a custom transport class underneath the compatibility one', () => {
  class MyTransport extends SniffingTransport {}
  const opts = clientOptionsForServer(8, { ...base, Transport: MyTransport });
  assert.notEqual(opts.Transport, MyTransport);
  assert.ok(opts.Transport!.prototype instanceof MyTransport);
  const same = { ...base };
  assert.equal(clientOptionsForServer(9, same), same, 'no change for the client major');
});

test('a cluster in a rolling upgrade is judged by its oldest node', async () => {
  route = () => nodes('9.4.3', '8.19.2', '9.0.0');
  assert.deepEqual(await detectServerVersion(base), { number: '8.19.2', major: 8, minor: 19 });
});

test('without the nodes-info API the version comes from GET /', async () => {
  route = (p) => (p.path === '/' ? { status: 200, body: { version: { number: '9.1.5' } } } : { status: 404, body: { error: 'no handler' } });
  assert.equal((await detectServerVersion(base)).number, '9.1.5');
});

test('an unreachable server is a retriable ESENSOR_SINK_UNAVAILABLE; refused credentials are ESENSOR_SINK_CONFIG', async () => {
  route = () => {
    throw new errors.ConnectionError('connect ECONNREFUSED 127.0.0.1:9200');
  };
  await assert.rejects(detectServerVersion(base), (e: unknown) => isSensorError(e, 'ESENSOR_SINK_UNAVAILABLE') && e.retriable);
  route = () => ({ status: 401, body: { error: 'unauthorized' } });
  await assert.rejects(detectServerVersion(base), (e: unknown) => isSensorError(e, 'ESENSOR_SINK_CONFIG') && /monitor/.test(e.message));
});
