// issue 13: Elasticsearch per-document 401/403/404 are the cluster's setup
// (privileges, a missing data stream), not the document's fault: the send
// fails retriably (the events stay in the journal and are sent again once it
// is fixed) instead of going to the dead-letter file. A loopback server
// answers as Elasticsearch does for a user without create_doc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { isSensorError } from '../../src/errors.js';
import { loadConfig } from '../../src/config/config.js';
import { ElasticsearchSink, type ElasticsearchSinkConfig } from '../../src/sinks/elasticsearch/es-sink.js';
import { classified, tempDir } from '../helpers/journal-fixtures.js';

test('issue-13-es-blocked: per-document 403 and 404 fail the batch retriably and dead-letter nothing; 400 is still dead-lettered', async () => {
  let answer = [403, 404];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      res.setHeader('x-elastic-product', 'Elasticsearch');
      res.setHeader('content-type', 'application/json');
      if (req.url?.startsWith('/_nodes')) return res.end(JSON.stringify({ nodes: { a: { version: '9.4.3' } } }));
      if (req.url === '/') return res.end(JSON.stringify({ version: { number: '9.4.3' } }));
      if (req.url?.startsWith('/_bulk')) {
        const items = answer.map((status) => ({ create: { status, error: { type: status === 404 ? 'index_not_found_exception' : status === 403 ? 'security_exception' : 'document_parsing_exception' } } }));
        return res.end(JSON.stringify({ errors: true, items }));
      }
      res.statusCode = 404;
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { dir, cleanup } = tempDir();
  try {
    const port = (server.address() as AddressInfo).port;
    const base = loadConfig(undefined, { EBPF_SENSOR_ELASTICSEARCH__NODE: `http://127.0.0.1:${port}` }).elasticsearch;
    const config = { ...structuredClone(base), templates: { ...base.templates, install: false }, deadLetter: { ...base.deadLetter, path: join(dir, 'dead.ndjson') } } as ElasticsearchSinkConfig;
    const sink = new ElasticsearchSink({ config, document: (ce) => JSON.stringify(ce.event), sensorVersion: '0.1.0', itemRetries: 0 });
    try {
      await assert.rejects(sink.send([classified(1), classified(2)]), (e: unknown) => {
        assert.ok(isSensorError(e, 'ESENSOR_SINK_CONFIG'), String(e));
        assert.equal(e.retriable, true);
        assert.match(e.message, /refused 2 documents with HTTP 403/);
        return true;
      });
      assert.ok(!existsSync(config.deadLetter.path) || readFileSync(config.deadLetter.path, 'utf8') === '', 'nothing dead-lettered');
      answer = [400, 201];
      await sink.send([classified(3), classified(4)]);
      assert.match(readFileSync(config.deadLetter.path, 'utf8'), /document_parsing_exception/);
    } finally {
      await sink.close();
    }
  } finally {
    server.close();
    cleanup();
  }
});
