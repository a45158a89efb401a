// issue 13: ebpf_sensor_sink_up stayed 1 while a send hung in the client's
// own retries (Kafka, Elasticsearch outages); it dropped only during the
// sensor's backoff. A send running for SEND_HUNG_MS now counts as down, in
// the metric and in /health.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SEND_HUNG_MS, SensorMetrics, type OutputsSnapshot } from '../../src/telemetry/metrics.js';

function outputs(sendingMs: number): () => OutputsSnapshot {
  return () =>
    ({
      journal: { dir: '/j', firstPosition: 0, nextPosition: 10, durablePosition: 10, segments: 1, bytes: 100, appended: { records: 10, bytes: 100 }, fsyncs: 1, fsyncErrors: 0, deleted: { positions: 0 }, damage: { regions: 0 } },
      appendErrors: 0,
      appendLost: 0,
      sinks: [
        {
          name: 'kafka',
          kind: 'kafka',
          eventsIn: 10,
          eventsOut: 0,
          lastSuccess: 0,
          delivery: { state: 'sending', committed: 0, failures: 0, attempt: 0, lost: { retention: 0, damaged: 0 }, lag: { events: 10, seconds: sendingMs / 1000 }, sendingMs },
          details: {},
        },
      ],
    }) as unknown as OutputsSnapshot;
}

async function sinkUp(m: SensorMetrics): Promise<string | undefined> {
  return /^ebpf_sensor_sink_up\{[^}]*sink="kafka"[^}]*\} (\d)$/m.exec(await m.metrics())?.[1];
}

test('issue-13-sink-up: a send hung for seconds is an outage in ebpf_sensor_sink_up and /health', async () => {
  const busy = new SensorMetrics({ version: 't', outputs: outputs(200) }, { defaultMetrics: false });
  assert.equal(await sinkUp(busy), '1', 'a send in progress for 200 ms is normal');
  assert.equal(busy.health().status, 'ok');
  const hung = new SensorMetrics({ version: 't', outputs: outputs(SEND_HUNG_MS + 1000) }, { defaultMetrics: false });
  assert.equal(await sinkUp(hung), '0');
  const h = hung.health();
  assert.equal(h.status, 'degraded');
  assert.match(h.reasons.join('\n'), /sink kafka has been sending one batch for 6 s/);
});
