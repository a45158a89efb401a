// Issue #7: Prometheus metrics and the health endpoint (events in/out per
// sink, cursor lag, retries, dead letters, journal size, kernel losses) on
// 127.0.0.1, and `ebpf-sensor status` printing the same, with a clear error
// when no sensor runs.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { SensorMetrics, type KernelSnapshot, type OutputsSnapshot, type PipelineSnapshot } from '../../src/telemetry/metrics.js';
import { startMetricsServer } from '../../src/telemetry/http.js';
import { fetchHealth, formatStatus, statusUrl } from '../../src/cli/status.js';
import { componentLogger } from '../../src/telemetry/logger.js';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import { SensorError } from '../../src/errors.js';

const pipeline: PipelineSnapshot = { batches: 12, events: 15000, alerts: 42, decodeErrors: 1, lossEvents: 2 };
const kernel: KernelSnapshot = {
  counters: { emitted: 16000, lost: 30, lostPerCpu: [10, 20], filtered: 500, truncated: 3 },
  ring: { records: 15970, bytes: 9_000_000, batches: 12, stalls: 4, freeChunks: 60 },
};
function outputs(state: 'reading' | 'backoff' = 'reading'): OutputsSnapshot {
  return {
    journal: {
      dir: '/var/lib/ebpf-sensor/journal',
      firstPosition: 100,
      nextPosition: 15100,
      durablePosition: 15090,
      segments: 3,
      bytes: 20_000_000,
      appended: { records: 15000, bytes: 19_000_000 },
      fsyncs: 77,
      fsyncErrors: 0,
      deleted: { positions: 100 },
      damage: { regions: 0 },
    },
    appendErrors: 0,
    appendLost: 0,
    sinks: [
      {
        name: 'kafka',
        kind: 'kafka',
        eventsIn: 14000,
        eventsOut: 13000,
        lastSuccess: Date.parse('2026-11-23T12:00:00Z'),
        delivery: {
          state,
          committed: 13100,
          failures: state === 'backoff' ? 5 : 0,
          attempt: state === 'backoff' ? 5 : 0,
          lost: { retention: 100, damaged: 0 },
          lag: { events: 1990, seconds: 12.5 },
          ...(state === 'backoff' ? { lastError: 'Kafka (k:9092) did not take the batch: connect ECONNREFUSED' } : {}),
        },
        details: { messages: 13000 },
      },
      {
        name: 'elasticsearch',
        kind: 'elasticsearch',
        eventsIn: 15000,
        eventsOut: 15000,
        lastSuccess: Date.parse('2026-11-23T12:00:01Z'),
        delivery: { state: 'reading', committed: 15090, failures: 2, attempt: 0, lost: { retention: 0, damaged: 0 }, lag: { events: 0, seconds: 0 } },
        details: { created: 14990, duplicates: 3, deadLetters: 7 },
      },
    ],
  };
}

function metricsWith(state: 'reading' | 'backoff' = 'reading'): SensorMetrics {
  return new SensorMetrics({ version: '0.1.0', pipeline: () => pipeline, kernel: () => kernel, outputs: () => outputs(state) });
}

test('the Prometheus text has events in/out, lag, retries, losses and dead letters per sink, the journal, kernel losses and process RSS', async () => {
  const text = await metricsWith().metrics();
  const want = [
    'ebpf_sensor_events_total 15000',
    'ebpf_sensor_alerts_total 42',
    'ebpf_sensor_kernel_lost_events_total{cpu="0"} 10',
    'ebpf_sensor_kernel_lost_events_total{cpu="1"} 20',
    'ebpf_sensor_reader_stalls_total 4',
    'ebpf_sensor_journal_bytes 20000000',
    'ebpf_sensor_journal_segments 3',
    'ebpf_sensor_journal_deleted_events_total 100',
    'ebpf_sensor_sink_events_in_total{sink="kafka",kind="kafka"} 14000',
    'ebpf_sensor_sink_events_out_total{sink="kafka",kind="kafka"} 13000',
    'ebpf_sensor_sink_lag_events{sink="kafka",kind="kafka"} 1990',
    'ebpf_sensor_sink_lag_seconds{sink="kafka",kind="kafka"} 12.5',
    'ebpf_sensor_sink_lost_events_total{sink="kafka",kind="kafka",reason="retention"} 100',
    'ebpf_sensor_sink_retries_total{sink="elasticsearch",kind="elasticsearch"} 2',
    'ebpf_sensor_sink_dead_letters_total{sink="elasticsearch",kind="elasticsearch"} 7',
    'ebpf_sensor_sink_dead_letters_total{sink="kafka",kind="kafka"} 0',
    'ebpf_sensor_sink_up{sink="kafka",kind="kafka"} 1',
    'ebpf_sensor_info{version="0.1.0"} 1',
    '# TYPE ebpf_sensor_sink_events_out_total counter',
    '# TYPE ebpf_sensor_sink_lag_events gauge',
  ];
  for (const line of want) assert.ok(text.includes(`${line}\n`), `missing: ${line}`);
  assert.match(text, /^process_resident_memory_bytes \d+$/m);
  // A second scrape reports the same totals (collectors set absolute values, they do not add up).
  const again = await metricsWith().metrics();
  assert.ok(again.includes('ebpf_sensor_events_total 15000\n'));
  const m = metricsWith();
  await m.metrics();
  assert.ok((await m.metrics()).includes('ebpf_sensor_sink_events_in_total{sink="kafka",kind="kafka"} 14000\n'));
});

test('health: ok with the numbers behind it; degraded (still HTTP 200) while a sink fails', () => {
  const ok = metricsWith().health();
  assert.equal(ok.status, 'ok');
  assert.deepEqual(ok.reasons, []);
  assert.equal(ok.version, '0.1.0');
  assert.equal(ok.kernel!.lost, 30);
  assert.equal(ok.journal!.bytes, 20_000_000);
  assert.deepEqual(
    ok.sinks.map((s) => [s.name, s.eventsIn, s.eventsOut, s.lagEvents, s.retries, s.lost.retention, s.deadLetters]),
    [
      ['kafka', 14000, 13000, 1990, 0, 100, 0],
      ['elasticsearch', 15000, 15000, 0, 2, 0, 7],
    ],
  );
  const bad = metricsWith('backoff').health();
  assert.equal(bad.status, 'degraded');
  assert.match(bad.reasons[0]!, /sink kafka is failing \(5 attempts\): .*ECONNREFUSED/);
});

test('the endpoint serves /metrics and /health on 127.0.0.1; status prints them; a port in use is a clear error', async () => {
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0, metrics: metricsWith('backoff'), log: componentLogger('metrics-test') });
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const m = await fetch(`${server.url}/metrics`);
    assert.equal(m.status, 200);
    assert.match(m.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
    assert.match(await m.text(), /ebpf_sensor_sink_up\{sink="kafka",kind="kafka"\} 0/);
    const h = await fetch(`${server.url}/health`);
    assert.equal(h.status, 200);
    assert.equal(((await h.json()) as { status: string }).status, 'degraded');
    assert.equal((await fetch(`${server.url}/nope`)).status, 404);
    assert.equal((await fetch(`${server.url}/metrics`, { method: 'POST' })).status, 405);

    const report = await fetchHealth(server.url);
    const text = formatStatus(report, server.url);
    assert.match(text, /^ebpf-sensor 0\.1\.0 \(pid \d+\) at http:\/\/127\.0\.0\.1:\d+: DEGRADED/);
    assert.match(text, /! sink kafka is failing/);
    assert.match(text, /events {5}15,000 classified, 42 alerts/);
    assert.match(text, /kernel {5}16,000 records, 30 lost \(ring full\), 4 reader stalls/);
    assert.match(text, /journal {4}19\.1 MiB in 3 segments, positions 100\.\.15,100, 100 deleted by retention/);
    assert.match(text, /kafka +backoff +14,000 +13,000 +1,990 +12\.5 +5 +100 +0/);
    assert.match(text, /elasticsearch +reading +15,000 +15,000 +0 +0\.0 +2 +0 +7/);
    assert.match(text, /kafka: last error: .*ECONNREFUSED/);

    // The real CLI against it: exit 1 while degraded, --json prints the document.
    const cli = join(packageRoot, 'bin/ebpf-sensor.js');
    // (asynchronously: this process serves the endpoint)
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [cli, 'status', '--url', server.url, '--json'], { encoding: 'utf8', timeout: 30_000 }, (e, stdout, stderr) =>
        resolve({ code: e ? ((e as { code?: number }).code ?? null) : 0, stdout, stderr }),
      );
    });
    assert.equal(r.code, 1, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { sinks: unknown[] }).sinks.length, 2);

    await assert.rejects(startMetricsServer({ host: '127.0.0.1', port: server.port, metrics: metricsWith(), log: componentLogger('metrics-test') }), (e: unknown) => {
      assert.ok(e instanceof SensorError);
      assert.equal(e.code, 'ESENSOR_CONFIG');
      assert.equal(e.field, 'metrics.port');
      assert.match(e.message, /EADDRINUSE.*set metrics\.port/);
      return true;
    });
  } finally {
    await server.close();
  }
});

test('status without a running sensor says so clearly (exit 1); it finds the endpoint from the config', async () => {
  // A port nothing listens on.
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  await assert.rejects(fetchHealth(`http://127.0.0.1:${port}`), (e: unknown) => {
    assert.ok(e instanceof SensorError);
    assert.equal(e.code, 'ESENSOR_STATUS_UNAVAILABLE');
    assert.match(e.message, new RegExp(`no ebpf-sensor answers on http://127\\.0\\.0\\.1:${port}/health \\(connection refused\\): is \`ebpf-sensor run\` running`));
    return true;
  });
  const cli = join(packageRoot, 'bin/ebpf-sensor.js');
  const r = spawnSync(process.execPath, [cli, 'status'], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, EBPF_SENSOR_METRICS__PORT: String(port) } });
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /ESENSOR_STATUS_UNAVAILABLE: no ebpf-sensor answers on http:\/\/127\.0\.0\.1:\d+\/health \(connection refused\)/);
  assert.equal(statusUrl(undefined, {}), 'http://127.0.0.1:9464', 'default: loopback, port 9464');
  assert.equal(statusUrl(undefined, { EBPF_SENSOR_METRICS__HOST: '0.0.0.0', EBPF_SENSOR_METRICS__PORT: '9100' }), 'http://127.0.0.1:9100');
  assert.throws(() => statusUrl(undefined, { EBPF_SENSOR_METRICS__ENABLED: 'false' }), /metrics are disabled/);
});
