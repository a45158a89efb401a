// Issue #19: the Splunk HEC sink against a real OpenTelemetry Collector
// (splunkhecreceiver + bearertokenauthextension scheme Splunk + ackextension,
// file exporter): events arrive exactly as sent (document, time to the
// microsecond, host/source/sourcetype/index), a wrong token is refused and
// nothing is lost (the fixed token delivers them), a collector outage in the
// middle of a stream loses nothing, and indexer acks gate the journal cursor.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until as waitUntil } from '../helpers/until.js';
import { loadConfig } from '../../src/config/config.js';
import { Journal } from '../../src/journal/journal.js';
import type { ClassifiedEvent } from '../../src/model/event.js';
import { ecsLine } from '../../src/normalize/ecs/ecs-serializer.js';
import { toCef } from '../../src/normalize/cef/cef.js';
import { Delivery } from '../../src/sinks/delivery.js';
import { HecSink, type HecSinkConfig } from '../../src/sinks/hec/hec-sink.js';
import { AGENT, HOST, corpus, lossEvent } from '../helpers/normalize-corpus.js';
import { isoMicros, readRecords, type ReceivedRecord } from '../helpers/otlp-json.js';
import { collectorOutputs, TEST_HEC_TOKEN } from '../services/otelcol-service.js';
import { hecUrl, service, startService, stopService } from '../services/services.js';

const DEADLINE_MS = 120_000;

function config(dir: string, over: Record<string, unknown> = {}): HecSinkConfig {
  const env: Record<string, string> = {
    EBPF_SENSOR_SPLUNK__URL: hecUrl(),
    EBPF_SENSOR_SPLUNK__TOKEN: TEST_HEC_TOKEN,
    EBPF_SENSOR_SPLUNK__DEADLETTER: JSON.stringify({ path: join(dir, 'dead', 'splunk.ndjson'), maxBytes: 1 << 20, keepFiles: 2 }),
  };
  for (const [k, v] of Object.entries(over)) env[`EBPF_SENSOR_SPLUNK__${k.toUpperCase()}`] = typeof v === 'string' ? v : JSON.stringify(v);
  return structuredClone(loadConfig(undefined, env).splunk) as HecSinkConfig;
}

/** Corpus events (every kind, alerts and telemetry) plus a loss report, with ids unique to `run`. */
function events(run: string, copies = 1): ClassifiedEvent[] {
  const out: ClassifiedEvent[] = [];
  for (let c = 0; c < copies; c++) {
    corpus().forEach((ce, i) => {
      ce.event.event.id = `${run}-${c}-${i}`;
      out.push(ce);
    });
  }
  const loss = lossEvent();
  loss.event.id = `${run}-loss`;
  out.push({ event: loss, verdict: { classification: 'normal', matches: [] } });
  return out;
}

/** Records of one test run (its unique `source`). */
function received(run: string): ReceivedRecord[] {
  return readRecords(collectorOutputs(service('otelcol')).hec).filter((r) => r.resource['com.splunk.source'] === run);
}

function idOf(r: ReceivedRecord): string | undefined {
  const b = r.body as { event?: { id?: string } } | string;
  if (typeof b === 'string') return /externalId=(\S+)/.exec(b)?.[1];
  return b?.event?.id;
}

function until<T>(what: string, fn: () => T | undefined | false, ms = DEADLINE_MS): Promise<T> {
  return waitUntil(what, fn, ms);
}

describe('Splunk HEC sink against the OpenTelemetry Collector', { timeout: 600_000 }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-hec-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('delivers ECS events exactly as sent: document, time to the µs, host, source, sourcetype and index per alert/telemetry', async () => {
    const run = `hec-exact-${Date.now().toString(36)}`;
    const sink = new HecSink({ config: config(dir, { source: run, index: { alerts: 'ebpf_alerts', events: 'ebpf_events' } }), document: (ce) => ecsLine(ce, HOST, AGENT), hostName: HOST.name });
    const batch = events(run);
    try {
      await sink.send(batch);
      assert.equal(sink.stats.sent, batch.length);
      const got = await until('every event in the collector output', () => {
        const r = received(run);
        return r.length >= batch.length ? r : undefined;
      });
      assert.equal(got.length, batch.length, 'each event once');
      const byId = new Map(got.map((r) => [idOf(r), r]));
      for (const ce of batch) {
        const r = byId.get(ce.event.event.id);
        assert.ok(r, `event ${ce.event.event.id} arrived`);
        assert.deepEqual(r.body, JSON.parse(ecsLine(ce, HOST, AGENT)), 'the ECS document, field for field');
        // The receiver parses `time` into a double: the microsecond we sent comes back within half a microsecond.
        assert.equal((BigInt(r.timeUnixNano) + 500n) / 1000n, isoMicros(ce.event['@timestamp']), 'time to the microsecond');
        const alert = ce.verdict.classification === 'suspicious' || ce.event.ebpf.kind === 'loss';
        assert.equal(r.resource['com.splunk.index'], alert ? 'ebpf_alerts' : 'ebpf_events');
        assert.equal(r.resource['com.splunk.sourcetype'], 'ebpf:ecs');
        assert.equal(r.resource['host.name'], HOST.name);
      }
      assert.ok(batch.some((c) => c.verdict.classification === 'suspicious') && batch.some((c) => c.verdict.classification === 'normal'));
    } finally {
      await sink.close();
    }
  });

  it('CEF: each line arrives as the event string with sourcetype ebpf:cef', async () => {
    const run = `hec-cef-${Date.now().toString(36)}`;
    const line = (ce: ClassifiedEvent): string => toCef(ce, HOST, AGENT);
    const sink = new HecSink({ config: config(dir, { source: run, format: 'cef' }), document: line, hostName: HOST.name });
    const batch = events(run);
    try {
      await sink.send(batch);
      const got = await until('the CEF lines', () => {
        const r = received(run);
        return r.length >= batch.length ? r : undefined;
      });
      assert.deepEqual(got.map((r) => r.body).sort(), batch.map(line).sort());
      for (const r of got) assert.equal(r.resource['com.splunk.sourcetype'], 'ebpf:cef');
    } finally {
      await sink.close();
    }
  });

  it('a wrong token is refused and retried: nothing moves the cursor, and with the token fixed every event arrives', async () => {
    const run = `hec-token-${Date.now().toString(36)}`;
    const j = Journal.open(join(dir, `j-${run}`), { fsyncIntervalMs: 0 });
    const batch = events(run);
    j.append(batch);
    const bad = new HecSink({ config: config(dir, { source: run, token: 'not-the-token' }), document: (ce) => ecsLine(ce, HOST, AGENT), hostName: HOST.name });
    let d = Delivery.start(j, bad, { name: 'splunk', batch: { count: 7, bytes: 1 << 20, ms: 0 }, retry: { initialMs: 20, maxMs: 100 } });
    try {
      await until('three refusals of the token', () => bad.stats.authFailures >= 3);
      assert.equal(d.stats().committed, 0, 'the cursor did not move');
      assert.match(d.stats().lastError ?? '', /refused the HEC token \(HTTP 401/);
      assert.doesNotMatch(d.stats().lastError ?? '', /not-the-token/, 'the token is never in an error');
      assert.equal(received(run).length, 0);
      await d.stop();
      await bad.close();

      const good = new HecSink({ config: config(dir, { source: run }), document: (ce) => ecsLine(ce, HOST, AGENT), hostName: HOST.name });
      d = Delivery.start(j, good, { name: 'splunk', batch: { count: 7, bytes: 1 << 20, ms: 0 }, retry: { initialMs: 20, maxMs: 100 } });
      assert.equal(await d.drained(DEADLINE_MS), true);
      const ids = await until('all events', () => {
        const s = new Set(received(run).map(idOf));
        return s.size >= batch.length ? s : undefined;
      });
      assert.deepEqual([...ids].sort(), batch.map((c) => c.event.event.id).sort());
      await d.stop();
      await good.close();
    } finally {
      await d.stop();
      await j.close();
    }
  });

  it('a collector outage in the middle of a stream (acks on) loses nothing', async () => {
    const run = `hec-outage-${Date.now().toString(36)}`;
    const j = Journal.open(join(dir, `j-${run}`), { fsyncIntervalMs: 0 });
    const sink = new HecSink({
      config: config(dir, { source: run, ack: { enabled: true, pollMs: 50, timeoutMs: 5000 } }),
      document: (ce) => ecsLine(ce, HOST, AGENT),
      hostName: HOST.name,
    });
    const d = Delivery.start(j, sink, { name: 'splunk', batch: { count: 10, bytes: 1 << 20, ms: 10 }, retry: { initialMs: 50, maxMs: 500 } });
    const all: string[] = [];
    const push = (part: number): void => {
      const b = events(`${run}-${part}`);
      all.push(...b.map((c) => c.event.event.id));
      j.append(b);
    };
    try {
      for (let i = 0; i < 3; i++) push(i);
      await until('the first part acknowledged', () => sink.stats.acked > 0);
      await stopService('otelcol');
      for (let i = 3; i < 6; i++) push(i);
      await until('failed sends during the outage', () => d.stats().failures >= 2);
      assert.ok(d.stats().committed < j.nextPosition, 'the cursor waits');
      await startService('otelcol');
      for (let i = 6; i < 9; i++) push(i);
      assert.equal(await d.drained(DEADLINE_MS), true);
      const file = collectorOutputs(service('otelcol')).hec;
      const ids = await until('every event after the outage', () => {
        const s = new Set(readRecords(file).filter((r) => String(r.resource['com.splunk.source']).startsWith(run)).map(idOf));
        return all.every((id) => s.has(id)) ? s : undefined;
      });
      assert.equal(all.filter((id) => !ids.has(id)).length, 0);
    } finally {
      await d.stop();
      await sink.close();
      await j.close();
      await startService('otelcol');
    }
  });

  it('indexer acks gate the cursor: withheld acks keep it in place and the batch is sent again; released acks move it', async () => {
    const run = `hec-ack-${Date.now().toString(36)}`;
    const target = new URL(hecUrl());
    let hold = true;
    let ackQueries = 0;
    // A loopback proxy to the collector that can answer ack polls with "not yet".
    const proxy: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.url === '/services/collector/ack' && hold) {
          ackQueries++;
          const ids = (JSON.parse(body.toString()) as { acks: number[] }).acks;
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ acks: Object.fromEntries(ids.map((i) => [i, false])) }));
          return;
        }
        const up = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        });
        up.on('error', () => res.writeHead(502).end());
        up.end(body);
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const j = Journal.open(join(dir, `j-${run}`), { fsyncIntervalMs: 0 });
    const sink = new HecSink({ config: config(dir, { url, source: run, ack: { enabled: true, pollMs: 50, timeoutMs: 600 } }), document: (ce) => ecsLine(ce, HOST, AGENT), hostName: HOST.name });
    const d = Delivery.start(j, sink, { name: 'splunk', batch: { count: 1000, bytes: 1 << 20, ms: 0 }, retry: { initialMs: 50, maxMs: 200 } });
    const batch = events(run);
    try {
      j.append(batch);
      await until('two ack timeouts (the batch sent again)', () => sink.stats.ackTimeouts >= 2);
      assert.ok(ackQueries >= 2);
      // The collector has the events (more than once: resent), yet the cursor has not moved.
      assert.ok(received(run).length >= batch.length);
      assert.equal(d.stats().committed, 0, 'no acknowledgement, no cursor move');
      assert.ok(sink.stats.requests >= 2);
      hold = false;
      assert.equal(await d.drained(DEADLINE_MS), true);
      assert.equal(d.stats().committed, j.nextPosition);
      assert.ok(sink.stats.acked >= 1);
      const ids = new Set(received(run).map(idOf));
      assert.deepEqual([...ids].sort(), batch.map((c) => c.event.event.id).sort());
    } finally {
      await d.stop();
      await sink.close();
      await j.close();
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });
});
