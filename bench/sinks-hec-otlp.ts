/**
 * Splunk HEC and OTLP sinks: throughput and sensor CPU per event into the
 * real OpenTelemetry Collector of the test services (started here, only that
 * one, unless EBPF_SENSOR_TEST_SERVICES points at running services). Prints
 * numbers, asserts nothing.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/sinks-hec-otlp.js [events]
 *
 * A journal is filled with N events (the normalizer corpus — every kind,
 * alerts and telemetry — repeated with unique ids, ~1.5 kB of ECS each),
 * then one Delivery per configuration drains it from its own cursor (after
 * one unprinted warm-up pass), batches of 1000: documents/s = N / time until the sink confirmed the last batch;
 * CPU = this process's user+system CPU time over that interval / N (the
 * sensor side only: document conversion, envelopes/records, gzip/protobuf,
 * HTTP; the collector is another process). The collector shares the
 * machine's cores, so rates are a floor for a remote Splunk/collector.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/config.js';
import { Journal } from '../src/journal/journal.js';
import type { ClassifiedEvent } from '../src/model/event.js';
import { ecsLine } from '../src/normalize/ecs/ecs-serializer.js';
import { toCef } from '../src/normalize/cef/cef.js';
import { Delivery } from '../src/sinks/delivery.js';
import { HecSink, type HecSinkConfig } from '../src/sinks/hec/hec-sink.js';
import { OtlpSink, type OtlpSinkConfig } from '../src/sinks/otlp/otlp-sink.js';
import type { Sink } from '../src/sinks/sink.js';
import { AGENT, HOST, corpus } from '../test/helpers/normalize-corpus.js';
import { TEST_HEC_TOKEN } from '../test/services/otelcol-service.js';
import { hecUrl, otlpLogsUrl, startServices, stopServices, STATE_ENV } from '../test/services/services.js';

const N = Number(process.argv[2] ?? 50_000);

function fill(j: Journal): void {
  const base = corpus();
  let batch: ClassifiedEvent[] = [];
  for (let i = 0; i < N; i++) {
    const ce = structuredClone(base[i % base.length]!);
    ce.event.event.id = `bench-${i}`;
    batch.push(ce);
    if (batch.length === 1000) {
      j.append(batch);
      batch = [];
    }
  }
  if (batch.length) j.append(batch);
}

async function measure(j: Journal, name: string, sink: Sink, quiet = false): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const d = Delivery.start(j, sink, { name, batch: { count: 1000, bytes: 4 << 20, ms: 0 } });
  const ok = await d.drained(600_000);
  const ns = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  await d.stop();
  await sink.close();
  const s = d.stats();
  const us = (cpu.user + cpu.system) / N;
  if (quiet) return;
  console.log(
    `${name.padEnd(22)} ${ok ? '' : '(NOT DRAINED) '}${Math.round(N / (ns / 1e9)).toLocaleString('en-US').padStart(8)} events/s   ` +
      `sensor CPU ${us.toFixed(1).padStart(5)} µs/event   (${s.delivered.batches} batches, ${s.failures} failed sends, ${(ns / 1e9).toFixed(1)} s)`,
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-bench-hec-'));
  let own: string | undefined;
  if (!process.env[STATE_ENV]) {
    // Next to the suite's state files: a bench killed before its cleanup is reaped by the next start.
    own = join(tmpdir(), `ebpf-sensor-services-bench-${process.pid}.json`);
    const file = own;
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => void stopServices(file).finally(() => {
        rmSync(dir, { recursive: true, force: true });
        process.exit(130);
      }));
    }
    await startServices({ stateFile: own, only: ['otelcol'], owner: process.pid });
    process.env[STATE_ENV] = own;
  }
  const j = Journal.open(join(dir, 'journal'), { fsyncIntervalMs: 0 });
  try {
    fill(j);
    await j.sync();
    console.log(`# ${N.toLocaleString('en-US')} events (${(j.stats().bytes / N).toFixed(0)} journal bytes each), batches of 1000, collector ${hecUrl()}`);
    const splunk = (over: Record<string, unknown>): HecSinkConfig => {
      const env: Record<string, string> = {
        EBPF_SENSOR_SPLUNK__URL: hecUrl(),
        EBPF_SENSOR_SPLUNK__TOKEN: TEST_HEC_TOKEN,
        EBPF_SENSOR_SPLUNK__DEADLETTER: JSON.stringify({ path: join(dir, 'dead.ndjson') }),
      };
      for (const [k, v] of Object.entries(over)) env[`EBPF_SENSOR_SPLUNK__${k.toUpperCase()}`] = typeof v === 'string' ? v : JSON.stringify(v);
      return structuredClone(loadConfig(undefined, env).splunk) as HecSinkConfig;
    };
    const ecs = (ce: ClassifiedEvent): string => ecsLine(ce, HOST, AGENT);
    // Warm-up (JIT, connections, the collector's first allocations), not printed.
    await measure(j, 'warm-up', new HecSink({ config: splunk({}), document: ecs, hostName: HOST.name }), true);
    await measure(j, 'hec ecs gzip', new HecSink({ config: splunk({}), document: ecs, hostName: HOST.name }));
    await measure(j, 'hec ecs gzip + acks', new HecSink({ config: splunk({ ack: { enabled: true, pollMs: 20, timeoutMs: 60000 } }), document: ecs, hostName: HOST.name }));
    await measure(j, 'hec ecs no gzip', new HecSink({ config: splunk({ gzip: false }), document: ecs, hostName: HOST.name }));
    await measure(j, 'hec cef gzip', new HecSink({ config: splunk({ format: 'cef' }), document: (ce) => toCef(ce, HOST, AGENT), hostName: HOST.name }));
    const otlp = structuredClone(
      loadConfig(undefined, { EBPF_SENSOR_OTLP__ENDPOINT: otlpLogsUrl(), EBPF_SENSOR_OTLP__DEADLETTER: JSON.stringify({ path: join(dir, 'dead-otlp.ndjson') }) }).otlp,
    ) as OtlpSinkConfig;
    await measure(j, 'otlp http/protobuf gzip', new OtlpSink({ config: otlp, document: ecs, host: HOST, agent: AGENT }));
    await measure(j, 'otlp body json', new OtlpSink({ config: { ...otlp, body: 'json' }, document: ecs, host: HOST, agent: AGENT }));
  } finally {
    await j.close();
    if (own) await stopServices(own);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
