// Issue #19: the OTLP logs sink (official OpenTelemetry JS exporter, HTTP
// protobuf) against a real OpenTelemetry Collector (otlpreceiver → file
// exporter): each event one log record with its time to the nanosecond,
// severity from the verdict, semantic-convention attributes, the whole ECS
// document as the body, host/agent as resource attributes; and a collector
// outage in the middle of a stream loses nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until as waitUntil } from '../helpers/until.js';
import { loadConfig } from '../../src/config/config.js';
import { Journal } from '../../src/journal/journal.js';
import type { ClassifiedEvent } from '../../src/model/event.js';
import { ecsLine } from '../../src/normalize/ecs/ecs-serializer.js';
import { Delivery } from '../../src/sinks/delivery.js';
import { OtlpSink, type OtlpSinkConfig } from '../../src/sinks/otlp/otlp-sink.js';
import { AGENT, HOST, corpus, lossEvent } from '../helpers/normalize-corpus.js';
import { isoNanos, readRecords, type ReceivedRecord } from '../helpers/otlp-json.js';
import { collectorOutputs } from '../services/otelcol-service.js';
import { otlpLogsUrl, service, startService, stopService } from '../services/services.js';

const DEADLINE_MS = 120_000;

function config(dir: string): OtlpSinkConfig {
  return structuredClone(
    loadConfig(undefined, {
      EBPF_SENSOR_OTLP__ENDPOINT: otlpLogsUrl(),
      EBPF_SENSOR_OTLP__DEADLETTER: JSON.stringify({ path: join(dir, 'dead', 'otlp.ndjson'), maxBytes: 1 << 20, keepFiles: 2 }),
      EBPF_SENSOR_OTLP__TIMEOUTMS: '3000',
    }).otlp,
  ) as OtlpSinkConfig;
}

function events(run: string): ClassifiedEvent[] {
  const out = corpus().map((ce, i) => {
    ce.event.event.id = `${run}-${i}`;
    return ce;
  });
  const loss = lossEvent();
  loss.event.id = `${run}-loss`;
  out.push({ event: loss, verdict: { classification: 'normal', matches: [] } });
  return out;
}

function received(prefix: string): ReceivedRecord[] {
  return readRecords(collectorOutputs(service('otelcol')).otlp).filter((r) => String(r.attributes['event.id'] ?? '').startsWith(prefix));
}

function until<T>(what: string, fn: () => T | undefined | false, ms = DEADLINE_MS): Promise<T> {
  return waitUntil(what, fn, ms);
}

describe('OTLP logs sink against the OpenTelemetry Collector', { timeout: 600_000 }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-otlp-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('each event is one log record: ns time, severity, semconv attributes, the ECS document as body, host/agent resource', async () => {
    const run = `otlp-exact-${Date.now().toString(36)}`;
    const sink = new OtlpSink({ config: config(dir), document: (ce) => ecsLine(ce, HOST, AGENT), host: HOST, agent: AGENT });
    const batch = events(run);
    try {
      await sink.send(batch);
      assert.equal(sink.stats.exported, batch.length);
      const got = await until('every record', () => {
        const r = received(`${run}-`);
        return r.length >= batch.length ? r : undefined;
      });
      assert.equal(got.length, batch.length);
      const byId = new Map(got.map((r) => [r.attributes['event.id'], r]));
      for (const ce of batch) {
        const r = byId.get(ce.event.event.id)!;
        assert.ok(r, ce.event.event.id);
        const doc = JSON.parse(ecsLine(ce, HOST, AGENT)) as Record<string, any>;
        assert.deepEqual(r.body, doc, 'the whole ECS document');
        assert.equal(BigInt(r.timeUnixNano), isoNanos(ce.event['@timestamp']), 'time to the nanosecond');
        assert.equal(r.attributes['process.pid'], doc.process.pid);
        assert.equal(r.attributes['process.executable.path'], doc.process.executable);
        if (doc.process?.parent?.pid !== undefined) assert.equal(r.attributes['process.parent_pid'], doc.process.parent.pid);
        if (doc.file?.path !== undefined) assert.equal(r.attributes['file.path'], doc.file.path);
        if (doc.destination?.ip !== undefined && doc.network?.direction !== 'ingress') {
          assert.equal(r.attributes['network.peer.address'], doc.destination.ip);
          assert.equal(r.attributes['destination.address'], doc.destination.ip);
        }
        const sev = ce.verdict.matches.map((m) => m.severity);
        const want = sev.includes('critical') ? 21 : sev.includes('high') ? 19 : sev.includes('medium') ? 17 : sev.includes('low') ? 13 : ce.event.ebpf.kind === 'loss' ? 13 : 9;
        assert.equal(r.severityNumber, want, `severity of ${ce.event.event.id}`);
        assert.equal(r.resource['host.name'], HOST.name);
        assert.equal(r.resource['service.name'], AGENT.name);
        assert.equal(r.resource['service.instance.id'], AGENT.id);
      }
      assert.ok(got.some((r) => r.attributes['file.path'] !== undefined) && got.some((r) => r.attributes['network.peer.address'] !== undefined));
    } finally {
      await sink.close();
    }
  });

  it('otlp.body json: the body is the ECS document as its JSON text', async () => {
    const run = `otlp-json-${Date.now().toString(36)}`;
    const sink = new OtlpSink({ config: { ...config(dir), body: 'json' }, document: (ce) => ecsLine(ce, HOST, AGENT), host: HOST, agent: AGENT });
    const batch = events(run);
    try {
      await sink.send(batch);
      const got = await until('every record', () => {
        const r = received(`${run}-`);
        return r.length >= batch.length ? r : undefined;
      });
      const byId = new Map(got.map((r) => [r.attributes['event.id'], r]));
      for (const ce of batch) assert.equal(byId.get(ce.event.event.id)?.body, ecsLine(ce, HOST, AGENT));
    } finally {
      await sink.close();
    }
  });

  it('a collector outage in the middle of a stream loses nothing', async () => {
    const run = `otlp-outage-${Date.now().toString(36)}`;
    const j = Journal.open(join(dir, `j-${run}`), { fsyncIntervalMs: 0 });
    const sink = new OtlpSink({ config: config(dir), document: (ce) => ecsLine(ce, HOST, AGENT), host: HOST, agent: AGENT });
    const d = Delivery.start(j, sink, { name: 'otlp', batch: { count: 10, bytes: 1 << 20, ms: 10 }, retry: { initialMs: 50, maxMs: 500 } });
    const all: string[] = [];
    const push = (part: number): void => {
      const b = events(`${run}-${part}`);
      all.push(...b.map((c) => c.event.event.id));
      j.append(b);
    };
    try {
      for (let i = 0; i < 3; i++) push(i);
      await until('the first records', () => sink.stats.exported > 0);
      await stopService('otelcol');
      for (let i = 3; i < 6; i++) push(i);
      await until('a failed export during the outage', () => d.stats().failures >= 1);
      await startService('otelcol');
      for (let i = 6; i < 9; i++) push(i);
      assert.equal(await d.drained(DEADLINE_MS), true);
      const ids = await until('every event', () => {
        const s = new Set(received(`${run}-`).map((r) => r.attributes['event.id']));
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
});
