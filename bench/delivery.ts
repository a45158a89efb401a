/**
 * Delivery throughput and latency into the real Kafka and Elasticsearch test
 * servers (test/services, started here unless EBPF_SENSOR_TEST_SERVICES
 * points at running ones), with the sensor side in a child process — the
 * integration tests' runner (test/integration/delivery-runner.ts): config
 * loader, Outputs (journal + deliveries + sinks), Pipeline, metrics — fed by
 * generated events of every kind instead of the kernel. Prints numbers,
 * asserts nothing.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/delivery.js [kafkaEvents] [esEvents] [seconds]
 *
 * 1. Sustained documents/s: a journal pre-filled with N events (written with
 *    no sink), then a fresh sensor side with one sink drains it from its
 *    cursor; documents/s = N / time until the sink confirmed all of them.
 * 2. Latency at a steady rate below saturation: journal append → visible to a
 *    Kafka consumer (each message's @timestamp, set when the event is
 *    generated, right before it is journaled) and → visible to an
 *    Elasticsearch search (polled every 100 ms). Not from the syscall: this
 *    bench does not drive the kernel (docs/benchmarks.md, "delivery").
 * 3. RSS of the sensor-side process (VmRSS sampled every 100 ms, and VmHWM).
 * Journal write throughput: bench/journal.ts.
 *
 * Targets (issue #7): >= 100,000 documents/s into Kafka and >= 20,000/s into
 * one local Elasticsearch node; p99 <= 0.5 s in Kafka and <= 2 s in
 * Elasticsearch; RSS <= 150 MB at those rates.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Client } from '@elastic/elasticsearch';
import { elasticsearchClient, elasticsearchNode, kafkaBrokers, startServices, stopServices } from '../test/services/services.js';
import { startRunner, writeRunnerConfig, type Runner } from '../test/integration/delivery-harness.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const KAFKA_N = Number(process.argv[2] ?? 200_000);
const ES_N = Number(process.argv[3] ?? 40_000);
const LATENCY_S = Number(process.argv[4] ?? 20);

function which(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function rssOf(pid: number): { rss: number; hwm: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/** Samples a process's RSS every 100 ms until stopped; returns the peak seen and VmHWM. */
function sampleRss(pid: number): () => { peak: number; hwm: number } {
  let peak = 0;
  let hwm = 0;
  const t = setInterval(() => {
    const r = rssOf(pid);
    peak = Math.max(peak, r.rss);
    hwm = Math.max(hwm, r.hwm);
  }, 100);
  return () => {
    clearInterval(t);
    const r = rssOf(pid);
    return { peak: Math.max(peak, r.rss), hwm: Math.max(hwm, r.hwm) };
  };
}

const mb = (b: number): string => `${(b / 1048576).toFixed(0)} MB`;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function waitOut(runner: Runner, sink: string, want: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const h = await runner.health();
    const s = h.sinks.find((x) => x.name === sink)!;
    if (s.eventsOut >= want) return;
    if (Date.now() > deadline) throw new Error(`${sink}: ${s.eventsOut} of ${want} confirmed in ${timeoutMs} ms (${s.state}, ${s.lastError ?? ''})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Result {
  name: string;
  docsPerSec: number;
  events: number;
  seconds: number;
  rss: { peak: number; hwm: number };
}

/** Fill a journal with N events without any sink (the generator runs as fast as it can). */
async function prefill(dir: string, run: string, n: number): Promise<{ perSec: number }> {
  const cfg = writeRunnerConfig({ dir });
  const r = await startRunner(cfg, run, { RUNNER_RATE: String(1e9), RUNNER_TOTAL: String(n) });
  const g = await r.generated;
  await r.stop();
  return { perSec: (g.count / g.ms) * 1000 };
}

async function throughput(kind: 'kafka' | 'elasticsearch', n: number): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), `ebpf-sensor-bench-${kind}-`));
  const run = `bench${kind[0]}${Date.now().toString(36)}`;
  try {
    const fill = await prefill(dir, run, n);
    console.log(`  journal pre-filled with ${fmt(n)} events (generate + enrich + classify + journal: ${fmt(fill.perSec)} events/s)`);
    const cfg = writeRunnerConfig(
      kind === 'kafka'
        ? { dir, brokers: kafkaBrokers(), topics: { alerts: `${run}-alerts`, events: `${run}-events` } }
        : { dir, esNode: elasticsearchNode('elasticsearch'), dataStreams: { alerts: `logs-ebpf_sensor.alerts-${run}`, events: `logs-ebpf_sensor.events-${run}` } },
    );
    const r = await startRunner(cfg, run);
    // From the sensor side being up: the time includes connecting (and installing the templates).
    const t0 = performance.now();
    const stop = sampleRss(r.pid);
    await waitOut(r, kind, n, 30 * 60_000);
    const seconds = (performance.now() - t0) / 1000;
    const rss = stop();
    await r.stop();
    return { name: kind, docsPerSec: n / seconds, events: n, seconds, rss };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Latency journal-append → visible in one sink, at `rate` events/s for `seconds`. */
async function latency(kind: 'kafka' | 'elasticsearch', rate: number, seconds: number): Promise<{ ms: number[]; rss: { peak: number; hwm: number } }> {
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-bench-latency-'));
  const run = `benchl${kind[0]}${Date.now().toString(36)}`;
  const topics = { alerts: `${run}-alerts`, events: `${run}-events` };
  const streams = { alerts: `logs-ebpf_sensor.alerts-${run}`, events: `logs-ebpf_sensor.events-${run}` };
  const total = rate * seconds;
  const lat: number[] = [];
  let stopConsumer = async (): Promise<void> => {};
  let es: Client | undefined;
  if (kind === 'kafka') {
    const kafka = new Kafka({ clientId: 'bench-reader', brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
    // Topics exist before the consumer subscribes, so it reads from the start without waiting for a rebalance.
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: topics.alerts }, { topic: topics.events }] });
    await admin.disconnect();
    const consumer = kafka.consumer({ groupId: `bench-${run}`, maxWaitTimeInMs: 20 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.alerts, topics.events], fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const now = Date.now();
        for (const m of batch.messages) {
          const ts = /"@timestamp":"([^"]+)"/.exec(m.value!.toString('latin1', 0, 80))?.[1];
          if (ts) lat.push(now - Date.parse(ts));
        }
      },
    });
    stopConsumer = () => consumer.disconnect();
  } else {
    es = (await elasticsearchClient('elasticsearch')).client;
  }
  // BENCH_BATCH_MS: try another batch time limit for the sink (default: the config's).
  const extra = process.env.BENCH_BATCH_MS ? { [kind]: { batch: { ms: Number(process.env.BENCH_BATCH_MS) } } } : {};
  const cfg = writeRunnerConfig(
    kind === 'kafka' ? { dir, brokers: kafkaBrokers(), topics, extra } : { dir, esNode: elasticsearchNode('elasticsearch'), dataStreams: streams, extra },
  );
  const r = await startRunner(cfg, run, { RUNNER_RATE: String(rate), RUNNER_TOTAL: String(total) });
  const stop = sampleRss(r.pid);
  const pacing = await r.pacing;
  const deadline = Date.now() + (seconds + 120) * 1000;
  if (es) {
    // The highest event.sequence a search sees: every event up to it is visible by now (delivery is in order).
    let seen = pacing.from - 1;
    while (seen < pacing.from + total - 1 && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 100));
      let max: number | undefined;
      try {
        const res = await es.search({ index: `${streams.alerts},${streams.events}`, size: 0, ignore_unavailable: true, aggs: { s: { max: { field: 'event.sequence' } } } });
        max = (res.aggregations?.s as { value: number | null } | undefined)?.value ?? undefined;
      } catch {
        continue;
      }
      const now = Date.now();
      if (max !== undefined && max > seen) {
        for (let i = seen + 1; i <= max; i++) lat.push(now - (pacing.t0 + ((i - pacing.from) / pacing.rate) * 1000));
        seen = max;
      }
    }
    await es.close();
  } else {
    while (lat.length < total && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
  }
  const rss = stop();
  await stopConsumer();
  await r.stop();
  rmSync(dir, { recursive: true, force: true });
  return { ms: lat.sort((a, b) => a - b), rss };
}

async function main(): Promise<void> {
  let ownState: string | undefined;
  if (!process.env.EBPF_SENSOR_TEST_SERVICES) {
    const java = which('java') || existsSync('/usr/lib/jvm');
    if (!which('mvn') || !java) {
      console.log('bench delivery skipped: it needs Maven and a JDK to fetch and run the test Kafka and Elasticsearch (sh scripts/setup.sh --with-test-deps installs them)');
      return;
    }
    ownState = join(tmpdir(), `ebpf-sensor-services-bench-${process.pid}.json`);
    process.env.EBPF_SENSOR_TEST_SERVICES = ownState;
    try {
      await startServices({ stateFile: ownState, only: ['kafka', 'elasticsearch'], owner: process.pid });
    } catch (e) {
      console.log(`bench delivery skipped: the test services did not start: ${(e as Error).message.split('\n')[0]}`);
      return;
    }
  }
  const stopAll = async (): Promise<void> => {
    if (ownState) await stopServices(ownState);
    ownState = undefined;
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    console.log(`machine: ${execFileSync('nproc').toString().trim()} CPUs, load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}, node ${process.version}`);
    console.log(`\n# sustained delivery from a pre-filled journal (one sink at a time)`);
    const rows: Result[] = [];
    for (const [kind, n] of [
      ['kafka', KAFKA_N],
      ['elasticsearch', ES_N],
    ] as const) {
      if (n <= 0) continue;
      const res = await throughput(kind, n);
      rows.push(res);
      console.log(
        `  ${kind.padEnd(14)} ${fmt(res.docsPerSec).padStart(8)} documents/s  (${fmt(res.events)} in ${res.seconds.toFixed(1)} s; sensor RSS peak ${mb(res.rss.peak)}, VmHWM ${mb(res.rss.hwm)})  target ${kind === 'kafka' ? '100,000' : '20,000'}/s`,
      );
    }
    if (LATENCY_S > 0) {
      console.log(`\n# latency, journal append -> visible, one sink at a time at about a third of its sustained rate, ${LATENCY_S} s`);
      for (const kind of ['kafka', 'elasticsearch'] as const) {
        const sustained = rows.find((r) => r.name === kind)?.docsPerSec ?? (kind === 'kafka' ? 6000 : 1500);
        const rate = Number(process.env[`BENCH_${kind === 'kafka' ? 'KAFKA' : 'ES'}_RATE`] ?? Math.max(100, Math.floor(sustained / 3 / 100) * 100));
        const l = await latency(kind, rate, LATENCY_S);
        const target = kind === 'kafka' ? 500 : 2000;
        console.log(
          `  ${kind.padEnd(14)} ${fmt(rate).padStart(6)} events/s: p50 ${Math.round(percentile(l.ms, 50))} ms  p99 ${Math.round(percentile(l.ms, 99))} ms  max ${Math.round(l.ms.at(-1) ?? NaN)} ms` +
            `  (${fmt(l.ms.length)} ${kind === 'kafka' ? 'messages' : 'documents, search polled every 100 ms'}; sensor RSS peak ${mb(l.rss.peak)}; target p99 <= ${target} ms)`,
        );
      }
    }
  } finally {
    await stopAll();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
