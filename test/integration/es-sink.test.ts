// Issue #7: the Elasticsearch sink against the real 9.x and 8.x test servers:
// ECS templates installed (with fallbacks where the integration-test
// distribution lacks field types, logged), documents in data streams with
// _id = event.id, a resent batch creating nothing twice (409 = delivered),
// (e) a document the mapping refuses going to the dead-letter file without
// stalling the rest, and 429 answers retried with backoff until the server
// takes the batch — exactly once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/config.js';
import { REDACT_PATHS } from '../../src/telemetry/logger.js';
import { ElasticsearchSink, type ElasticsearchSinkConfig } from '../../src/sinks/elasticsearch/es-sink.js';
import { bridgeClientLogs } from '../../src/sinks/elasticsearch/es-log.js';
import { Journal } from '../../src/journal/journal.js';
import { Delivery } from '../../src/sinks/delivery.js';
import { toEcs, ecsJson } from '../../src/normalize/ecs/ecs.js';
import type { ClassifiedEvent } from '../../src/model/event.js';
import { AGENT, HOST, corpus, lossEvent } from '../helpers/normalize-corpus.js';
import { elasticsearchClient, elasticsearchNode } from '../services/services.js';

type Server = 'elasticsearch' | 'elasticsearch8';

function capture(): { log: pino.Logger; lines: () => Array<Record<string, unknown>>; text: () => string } {
  const out: string[] = [];
  const log = pino({ level: 'debug', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, { write: (s: string) => void out.push(s) });
  return { log, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>), text: () => out.join('') };
}

function sinkConfig(server: Server, run: string, dir: string): ElasticsearchSinkConfig {
  const c = loadConfig(undefined, {
    EBPF_SENSOR_ELASTICSEARCH__NODE: elasticsearchNode(server),
    EBPF_SENSOR_ELASTICSEARCH__DATASTREAMS: JSON.stringify({ alerts: `logs-ebpf_sensor.alerts-${run}`, events: `logs-ebpf_sensor.events-${run}` }),
    EBPF_SENSOR_ELASTICSEARCH__DEADLETTER: JSON.stringify({ path: join(dir, 'dead', 'es.ndjson'), maxBytes: 1 << 20, keepFiles: 2 }),
    EBPF_SENSOR_ELASTICSEARCH__TEMPLATES: JSON.stringify({ name: `ebpf-sensor-${run}`, priority: 500, install: true }),
  }).elasticsearch;
  return structuredClone(c) as ElasticsearchSinkConfig;
}

/** Corpus events with unique ids (every kind, alerts with one and two rules) and one loss report. */
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

/** An event whose source.ip is not an IP: the ECS mapping (ip) refuses it. */
function unmappable(run: string, n: number): ClassifiedEvent {
  const ce = events(run).find((e) => e.event.ebpf.kind === 'connect')!;
  ce.event.event.id = `${run}-bad-${n}`;
  ce.event.source = { ip: `not-an-ip-${n}`, port: 1 };
  return ce;
}

for (const server of ['elasticsearch', 'elasticsearch8'] as const) {
  describe(`Elasticsearch sink against ${server}`, { timeout: 600_000 }, () => {
    let dir: string;
    let es: Client;
    let major: number;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-es-sink-'));
      const n = await elasticsearchClient(server);
      es = n.client;
      major = n.server.major;
    });
    after(async () => {
      await es?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('installs the ECS templates (fallbacks logged), creates data streams, writes _id = event.id, and a resend creates nothing twice', async () => {
      const run = `t${Date.now().toString(36)}${server.length}`;
      const cfg = sinkConfig(server, run, dir);
      const cap = capture();
      const sink = new ElasticsearchSink({ config: cfg, document: (ce) => ecsJson(toEcs(ce, HOST, AGENT)), sensorVersion: '0.1.0-test', log: cap.log });
      const batch = events(run);
      try {
        await sink.send(batch);
        assert.equal(sink.server!.major, major);
        assert.deepEqual(sink.stats.created, batch.length);
        assert.equal(sink.stats.deadLetters, 0);

        // Templates: exactly our two streams, composed of the ECS components, ebpf.* and settings.
        const { index_templates } = await es.indices.getIndexTemplate({ name: cfg.templates.name });
        const t = index_templates[0]!.index_template;
        assert.deepEqual(t.index_patterns, [cfg.dataStreams.alerts, cfg.dataStreams.events]);
        assert.ok(t.data_stream, 'a data stream template');
        assert.ok(t.composed_of.includes(`${cfg.templates.name}@ecs-process`) && t.composed_of.includes(`${cfg.templates.name}@ebpf`));
        const meta = t._meta as { managed_by: string; fallbacks: Record<string, string> };
        assert.equal(meta.managed_by, 'ebpf-sensor');
        // The integration-test distribution lacks these types; a full distribution needs no fallback.
        assert.deepEqual(Object.keys(meta.fallbacks).sort(), Object.keys(sink.templates!.fallbacks).sort());
        if (Object.keys(meta.fallbacks).length) {
          const warn = cap.lines().find((l) => /lacks ECS field types/.test(String(l.msg)));
          assert.ok(warn, 'the fallback is logged');
          assert.equal(warn.level, 40);
          assert.deepEqual(warn.fallbacks, meta.fallbacks);
          for (const [from, to] of Object.entries(meta.fallbacks)) assert.match(String(warn.msg), new RegExp(`${from}→${to}`));
        }

        // Data streams with ECS mappings.
        const idx = await es.indices.get({ index: cfg.dataStreams.events });
        const [backing] = Object.keys(idx);
        assert.match(backing!, new RegExp(`^\\.ds-${cfg.dataStreams.events.replace(/\./g, '\\.')}-`), 'backed by a data stream');
        const mapping = await es.indices.getFieldMapping({ index: cfg.dataStreams.events, fields: ['process.pid', 'ebpf.kind', 'ebpf.open.flags', 'ebpf.raw_bytes', 'process.command_line', '@timestamp'] });
        const fields = Object.values(mapping)[0]!.mappings;
        const typeOf = (f: string): string => (Object.values(fields[f]!.mapping)[0] as { type: string }).type;
        assert.equal(typeOf('process.pid'), 'long');
        assert.equal(typeOf('@timestamp'), 'date');
        assert.equal(typeOf('ebpf.kind'), 'keyword');
        assert.equal(typeOf('ebpf.open.flags'), 'long');
        assert.equal(typeOf('process.command_line'), meta.fallbacks.wildcard ?? 'wildcard');

        await es.indices.refresh({ index: `${cfg.dataStreams.alerts},${cfg.dataStreams.events}` });
        const alerts = await es.search<{ event: { id: string; kind: string } }>({ index: cfg.dataStreams.alerts, size: 1000 });
        const telemetry = await es.count({ index: cfg.dataStreams.events });
        const wantAlerts = batch.filter((ce) => ce.verdict.classification === 'suspicious' || ce.event.ebpf.kind === 'loss');
        assert.equal(alerts.hits.hits.length, wantAlerts.length, 'alerts and the loss report in the alerts stream');
        assert.equal(telemetry.count, batch.length - wantAlerts.length);
        for (const h of alerts.hits.hits) assert.equal(h._id, h._source!.event.id, '_id = event.id');
        assert.ok(alerts.hits.hits.some((h) => h._source!.event.kind === 'metric'));

        // The same batch again (a retry, a restart after a crash): 409 for each, counted as delivered, no duplicate.
        await sink.send(batch);
        assert.equal(sink.stats.created, batch.length);
        assert.equal(sink.stats.duplicates, batch.length);
        await es.indices.refresh({ index: `${cfg.dataStreams.alerts},${cfg.dataStreams.events}` });
        const total = await es.count({ index: `${cfg.dataStreams.alerts},${cfg.dataStreams.events}` });
        assert.equal(total.count, batch.length, 'exactly once');

        // issue-16: Elastic Defend's Ext names, which prebuilt rules query, reach our fields through the alias component.
        const rename = batch.find((ce) => ce.event.ebpf.kind === 'rename')!;
        const oldPath = rename.event.ebpf.source_file!.path;
        const byAlias = await es.search<{ ebpf: { source_file: { path: string } } }>({
          index: `${cfg.dataStreams.alerts},${cfg.dataStreams.events}`,
          query: { bool: { filter: [{ term: { 'file.Ext.original.path': oldPath } }, { term: { 'user.Ext.real.id': rename.event.process.real_user.id } }] } },
        });
        assert.ok(byAlias.hits.hits.some((h) => h._id === rename.event.event.id), `the rename found by file.Ext.original.path ${oldPath}`);
        for (const h of byAlias.hits.hits) assert.equal(h._source!.ebpf.source_file.path, oldPath);
        assert.equal(JSON.stringify(byAlias.hits.hits[0]!._source).includes('"Ext"'), false, 'aliases only: documents carry no Ext field');
      } finally {
        await sink.close();
      }
    });

    it('regression: new data stream names keep the old ones matched (Elasticsearch refuses a template that strands a data stream)', async () => {
      const run = `n${Date.now().toString(36)}${server.length}`;
      const first = sinkConfig(server, run, dir);
      const second = sinkConfig(server, `${run}x`, dir);
      second.templates.name = first.templates.name;
      const doc = (ce: ClassifiedEvent): string => ecsJson(toEcs(ce, HOST, AGENT));
      const a = new ElasticsearchSink({ config: first, document: doc, sensorVersion: 't', log: capture().log });
      const b = new ElasticsearchSink({ config: second, document: doc, sensorVersion: 't', log: capture().log });
      try {
        await a.send(events(run).slice(0, 5));
        await b.send(events(`${run}x`).slice(0, 5));
        const { index_templates } = await es.indices.getIndexTemplate({ name: first.templates.name });
        assert.deepEqual(
          [...index_templates[0]!.index_template.index_patterns].sort(),
          [first.dataStreams.alerts, first.dataStreams.events, second.dataStreams.alerts, second.dataStreams.events].sort(),
        );
        assert.equal(b.stats.created, 5);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('(e) documents the mapping refuses go to the dead-letter file with the reason; the rest is delivered and the cursor moves on', async () => {
      const run = `d${Date.now().toString(36)}${server.length}`;
      const cfg = sinkConfig(server, run, dir);
      const cap = capture();
      const sink = new ElasticsearchSink({ config: cfg, document: (ce) => ecsJson(toEcs(ce, HOST, AGENT)), sensorVersion: '0.1.0-test', log: cap.log });
      const j = Journal.open(join(dir, `journal-${run}`), { fsyncIntervalMs: 10 });
      const good = events(run);
      const all: ClassifiedEvent[] = [];
      for (let r = 0; r < 20; r++) {
        for (const ce of good) {
          const c = structuredClone(ce);
          c.event.event.id = `${ce.event.event.id}-${r}`;
          all.push(c);
        }
        all.push(unmappable(run, r));
      }
      j.append(all);
      await j.sync();
      const d = Delivery.start(j, sink, { batch: { count: 500, bytes: 8 << 20, ms: 20 } });
      try {
        assert.equal(await d.drained(240_000), true, `delivered: ${JSON.stringify(d.stats())}`);
        assert.equal(d.stats().committed, all.length, 'the cursor passed the refused documents');
        assert.equal(d.stats().failures, 0, 'a refused document is not a failure to retry');
        assert.equal(sink.stats.deadLetters, 20);
        assert.equal(sink.stats.created, all.length - 20);
        const letters = readFileSync(cfg.deadLetter.path, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { '@timestamp': string; sink: string; target: string; id: string; status: number; reason: { type: string; reason: string }; document: { source: { ip: string } } });
        assert.equal(letters.length, 20);
        assert.deepEqual(
          letters.map((l) => l.id).sort(),
          Array.from({ length: 20 }, (_, r) => `${run}-bad-${r}`).sort(),
        );
        for (const l of letters) {
          assert.equal(l.status, 400);
          assert.equal(l.sink, 'elasticsearch');
          assert.equal(l.target, cfg.dataStreams.events);
          assert.match(l.reason.type, /(document|mapper)_parsing_exception/);
          assert.match(JSON.stringify(l.reason), /source\.ip/);
          assert.match(l.document.source.ip, /^not-an-ip-/);
          assert.ok(Date.now() - Date.parse(l['@timestamp']) < 600_000);
        }
        const warn = cap.lines().find((l) => /refused \d+ documents for good/.test(String(l.msg)));
        assert.ok(warn && warn.file === cfg.deadLetter.path);
        await es.indices.refresh({ index: `${cfg.dataStreams.alerts},${cfg.dataStreams.events}` });
        const total = await es.count({ index: `${cfg.dataStreams.alerts},${cfg.dataStreams.events}` });
        assert.equal(total.count, all.length - 20);
      } finally {
        await d.stop();
        await sink.close();
        await j.close();
      }
    });
  });
}

describe('Elasticsearch sink: 429', { timeout: 600_000 }, () => {
  it('documents refused with 429 (flood-stage block) are retried with backoff until the server takes them, exactly once; client logs reach pino without credentials', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-es-429-'));
    const { client: es } = await elasticsearchClient('elasticsearch');
    const run = `r${Date.now().toString(36)}`;
    const cfg = sinkConfig('elasticsearch', run, dir);
    cfg.auth = { username: 'sensor', password: 'pw-never-logged-429' };
    const cap = capture();
    const sink = new ElasticsearchSink({ config: cfg, document: (ce) => ecsJson(toEcs(ce, HOST, AGENT)), sensorVersion: '0.1.0-test', log: cap.log, itemRetries: 1, itemRetryMs: 50 });
    const j = Journal.open(join(dir, 'journal'), { fsyncIntervalMs: 10 });
    const batch = events(run);
    const streams = `${cfg.dataStreams.alerts},${cfg.dataStreams.events}`;
    let d: Delivery | undefined;
    try {
      // Connected, templates installed, both data streams created.
      await sink.send([batch.find((ce) => ce.verdict.classification === 'suspicious')!, batch.find((ce) => ce.verdict.classification === 'normal')!]);
      const first = sink.stats.created;
      // What Elasticsearch does when a disk passes the flood-stage watermark: every write answers 429.
      await es.indices.putSettings({ index: streams, settings: { 'index.blocks.read_only_allow_delete': true } });
      j.append(batch);
      await j.sync();
      d = Delivery.start(j, sink, { batch: { count: 1000, bytes: 8 << 20, ms: 10 }, retry: { initialMs: 100, maxMs: 400 }, startAt: 'oldest' });
      const deadline = Date.now() + 60_000;
      while (d.stats().failures < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const during = d.stats();
      assert.ok(during.failures >= 2, `retried: ${JSON.stringify(during)}`);
      assert.match(during.lastError ?? '', /kept refusing \d+ documents with 429\/5xx/);
      assert.equal(during.committed, 0);
      assert.ok(sink.stats.retriedDocuments >= batch.length);
      assert.equal(sink.stats.deadLetters, 0, 'a 429 is never a dead letter');
      assert.equal(sink.stats.created, first);
    } finally {
      await es.indices.putSettings({ index: streams, settings: { 'index.blocks.read_only_allow_delete': null } });
    }
    try {
      assert.equal(await d!.drained(120_000), true);
      await es.indices.refresh({ index: streams });
      const total = await es.count({ index: streams });
      // The two sent first are in the batch again: 409, delivered, not duplicated.
      assert.equal(total.count, batch.length, 'every event exactly once after the 429s');
      assert.equal(sink.stats.duplicates, 2);
      assert.ok(!cap.text().includes('pw-never-logged-429'));
      assert.ok(!/authorization/i.test(cap.text()));

      // The client's diagnostics, bridged into pino, for a request the server refuses.
      const bridged = capture();
      const bridge = bridgeClientLogs(es, bridged.log);
      await es.search({ index: `missing-${run}` }).catch(() => undefined);
      bridge.detach();
      const line = bridged.lines().find((l) => l.msg === 'elasticsearch request failed');
      assert.ok(line, bridged.text());
      assert.equal(line.statusCode, 404);
      assert.equal(line.path, `/missing-${run}/_search`);
      assert.equal(line.level, 20);
    } finally {
      await d?.stop();
      await sink.close();
      await j.close();
      await es.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
