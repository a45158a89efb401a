// Issue #6: the 9.x client reaches an 8.x server only through the
// compatibility headers src/sinks/elasticsearch/es-client.ts negotiates. The
// harness's 8.x node shows both sides: the plain client is refused, the
// negotiated one indexes, bulk-writes and searches.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client, errors } from '@elastic/elasticsearch';
import { detectServerVersion } from '../../src/sinks/elasticsearch/es-client.js';
import { elasticsearchClient, elasticsearchNode, service } from '../services/services.js';

describe('test services: Elasticsearch 8.x with the 9.x client', { timeout: 300_000 }, () => {
  it('runs an 8.x node on a JDK it supports', async () => {
    const rec = service('elasticsearch8');
    assert.match(rec.version, /^8\./);
    const v = await detectServerVersion({ node: rec.address });
    assert.equal(v.number, rec.version);
    assert.equal(v.major, 8);
    assert.ok(Number(rec.javaVersion.split('.')[0]) < 25, `JDK ${rec.javaVersion}`);
  });

  it('refuses the 9.x client without compatibility headers (what the negotiation fixes)', async () => {
    const plain = new Client({ node: elasticsearchNode('elasticsearch8'), maxRetries: 0 });
    try {
      await assert.rejects(
        plain.index({ index: `services-plain-${Date.now()}`, document: { a: 1 } }),
        (e: unknown) =>
          e instanceof errors.ResponseError &&
          e.statusCode === 400 &&
          /media_type_header_exception/.test(JSON.stringify(e.body)) &&
          /compatible-with=9/.test(JSON.stringify(e.body)),
      );
    } finally {
      await plain.close();
    }
  });

  it('indexes, bulk-writes with create semantics and searches through the negotiated client', async () => {
    const { client, server, compatibilityMode } = await elasticsearchClient('elasticsearch8');
    assert.equal(server.major, 8);
    assert.equal(compatibilityMode, true);
    const index = `services-compat-${Date.now()}`;
    try {
      await client.index({ index, id: 'one', document: { message: 'single document' } });
      // Bulk goes out as NDJSON: its content type must carry the compatibility version too.
      const bulk = await client.bulk({
        operations: [
          { create: { _index: index, _id: 'two' } },
          { message: 'bulk document' },
          { create: { _index: index, _id: 'two' } },
          { message: 'duplicate id' },
        ],
      });
      assert.deepEqual(
        bulk.items.map((i) => i.create!.status),
        [201, 409],
      );
      const helper = await client.helpers.bulk({
        datasource: [{ message: 'helper a' }, { message: 'helper b' }],
        onDocument: () => ({ create: { _index: index } }),
        refreshOnCompletion: index,
      });
      assert.equal(helper.successful, 2);
      const all = await client.search<{ message: string }>({ index, size: 10, sort: ['_doc'] });
      assert.deepEqual(all.hits.hits.map((h) => h._source!.message).sort(), ['bulk document', 'helper a', 'helper b', 'single document']);
      const one = await client.search<{ message: string }>({ index, query: { match: { message: 'single' } } });
      assert.equal(one.hits.hits[0]!._id, 'one');
    } finally {
      await client.indices.delete({ index }, { ignore: [404] });
      await client.close();
    }
  });

  it('leaves the 9.x node on the client defaults', async () => {
    const { server, compatibilityMode, client } = await elasticsearchClient('elasticsearch');
    await client.close();
    assert.equal(server.major, 9);
    assert.equal(compatibilityMode, false);
  });
});
