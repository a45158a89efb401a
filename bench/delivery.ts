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
 *   (BENCH_PROF=DIR: CPU profiles of the sensor side of the throughput runs, into DIR)
 *
 * 1. Sustained documents/s: a journal pre-filled with N events (written with
 *    no sink), then a fresh sensor side with one sink drains it from its
 *    cursor; documents/s = N / time until the sink confirmed all of them,
 *    and the sensor side's CPU (/proc/PID/stat) per document, with its idle
 *    CPU rate measured right after (as many seconds, nothing to send) and
 *    the share of the CPU per document that rate explains. The file
 *    output drains a journal the same way first: the difference is what the
 *    network sink itself costs.
 * 2. Latency at a steady rate below saturation: journal append → visible to a
 *    Kafka consumer (each message's @timestamp, set when the event is
 *    generated, right before it is journaled) and → visible to an
 *    Elasticsearch search (polled every 100 ms). Not from the syscall: this
 *    bench does not drive the kernel (docs/benchmarks.md, "delivery").
 * 3. Latency syscall → visible with the live sensor (`ebpf-sensor run` with
 *    both sinks, its BPF programs loaded): a child process creates files at a
 *    steady rate; Kafka: consumer time minus the event's @timestamp (the
 *    kernel's clock at the syscall); Elasticsearch: the first 100 ms poll
 *    whose newest visible @timestamp of those files reaches the syscall's
 *    time; measured once a warm-up event reached both sinks. Skipped, with
 *    the reason, where BPF is unavailable.
 * 4. RSS of the sensor-side process (VmRSS sampled every 100 ms, and VmHWM).
 * Journal write throughput: bench/journal.ts.
 *
 * Targets (issue #7): >= 100,000 documents/s into Kafka and >= 20,000/s into
 * one local Elasticsearch node; p99 <= 0.5 s in Kafka and <= 2 s in
 * Elasticsearch; RSS <= 150 MB at those rates.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { useCompression } from '../src/sinks/kafka/kafka-codecs.js';
import type { Client } from '@elastic/elasticsearch';
import { elasticsearchClient, elasticsearchNode, kafkaBrokers, startServices, stopServices } from '../test/services/services.js';
import { startRunner, writeRunnerConfig, type Runner } from '../test/integration/delivery-harness.js';
import { bpfUnavailableReason } from '../src/sources/kernel/preflight.js';
import { packageRoot } from '../src/sources/kernel/paths.js';
import { isoToEpochMs } from '../src/model/time.js';

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

/**
 * Proportional set size: RSS with each page divided among its mappings (the
 * BPF ring's data pages were mapped twice into the sensor before issue #14,
 * which RSS counted twice and PSS once).
 */
function pssOf(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc/PID/stat. */
function cpuOf(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 (utime, stime) in clock ticks; the rest starts at field 3.
    return (Number(rest[11]) + Number(rest[12])) / 100;
  } catch {
    return NaN;
  }
}

/** CPU seconds per thread name (the main thread is "node"; V8 and libuv helpers have their own names). */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        const f = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
        const name = f.slice(f.indexOf('(') + 1, f.lastIndexOf(')'));
        const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
        out.set(name, (out.get(name) ?? 0) + (Number(rest[11]) + Number(rest[12])) / 100);
      } catch {
        // the thread ended
      }
    }
  } catch {
    // the process ended
  }
  return out;
}

/** Samples a process's RSS (and PSS) every 100 ms until stopped; returns the peaks seen and VmHWM. */
function sampleRss(pid: number): () => { peak: number; hwm: number; pss: number } {
  let peak = 0;
  let hwm = 0;
  let pss = 0;
  const t = setInterval(() => {
    const r = rssOf(pid);
    peak = Math.max(peak, r.rss);
    hwm = Math.max(hwm, r.hwm);
    pss = Math.max(pss, pssOf(pid));
  }, 100);
  return () => {
    clearInterval(t);
    const r = rssOf(pid);
    return { peak: Math.max(peak, r.rss), hwm: Math.max(hwm, r.hwm), pss: Math.max(pss, pssOf(pid)) };
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
    // Not too often: each health request costs the sensor side CPU, which is measured.
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Result {
  name: string;
  docsPerSec: number;
  /** CPU of the sensor-side process while it drained, per document. */
  cpuUsPerDoc: number;
  /** The sensor side's CPU-seconds per second once idle, and that rate over the drain's seconds per document. */
  idleCpuPerS: number;
  idleUsPerDoc: number;
  /** The same by thread name, µs per document. */
  threads: string;
  events: number;
  seconds: number;
  rss: { peak: number; hwm: number };
}

/** Fill a journal with N events without any sink (the generator runs as fast as it can). */
async function prefill(dir: string, run: string, n: number): Promise<{ perSec: number }> {
  // An ECS output configured while the journal fills, as a sensor with a Kafka or Elasticsearch sink has:
  // the journal then holds each event's ECS line, which the sinks ship as it is (alerts only: it writes little).
  const cfg = writeRunnerConfig({ dir, extra: { output: { enabled: true, events: 'alerts', target: `file:${join(dir, 'prefill-alerts.ndjson')}` } } });
  const r = await startRunner(cfg, run, { RUNNER_RATE: String(1e9), RUNNER_TOTAL: String(n) });
  const g = await r.generated;
  await r.stop();
  return { perSec: (g.count / g.ms) * 1000 };
}

async function throughput(kind: 'kafka' | 'elasticsearch' | 'file', n: number): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), `ebpf-sensor-bench-${kind}-`));
  const run = `bench${kind[0]}${Date.now().toString(36)}`;
  try {
    const fill = await prefill(dir, run, n);
    console.log(`  journal pre-filled with ${fmt(n)} events (generate + enrich + classify + journal: ${fmt(fill.perSec)} events/s)`);
    const out = join(dir, 'out.ndjson');
    const cfg = writeRunnerConfig(
      kind === 'kafka'
        ? { dir, brokers: kafkaBrokers(), topics: { alerts: `${run}-alerts`, events: `${run}-events` } }
        : kind === 'elasticsearch'
          ? { dir, esNode: elasticsearchNode('elasticsearch'), dataStreams: { alerts: `logs-ebpf_sensor.alerts-${run}`, events: `logs-ebpf_sensor.events-${run}` } }
          : { dir, extra: { output: { enabled: true, target: `file:${out}` } } },
    );
    // BENCH_PROF=DIR: a CPU profile of the sensor side (written when it stops).
    const prof = process.env.BENCH_PROF;
    // The runner is forked with this process's execArgv (node refuses --cpu-prof in NODE_OPTIONS).
    const argv = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`, `--cpu-prof-name=${kind}-${run}.cpuprofile`] : [];
    process.execArgv.push(...argv);
    const r = await startRunner(cfg, run).finally(() => process.execArgv.splice(process.execArgv.length - argv.length, argv.length));
    // From the sensor side being up: the time includes connecting (and installing the templates).
    const t0 = performance.now();
    const cpu0 = cpuOf(r.pid);
    const threads0 = threadCpu(r.pid);
    const stop = sampleRss(r.pid);
    await waitOut(r, kind === 'file' ? `file:${out}` : kind, n, 30 * 60_000);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuOf(r.pid) - cpu0;
    const threads = [...threadCpu(r.pid)]
      .map(([name, s]) => [name, ((s - (threads0.get(name) ?? 0)) / n) * 1e6] as const)
      .filter(([, us]) => us >= 0.5)
      .map(([name, us]) => `${name} ${us.toFixed(1)}`)
      .join(', ');
    const rss = stop();
    // The sensor side's idle CPU rate: as long as the drain took (2–10 s), nothing left to send and
    // no health requests. Against a slow server, what it does per second whatever it sends (timers,
    // GC of an idle heap) is divided by few documents; `idleUsPerDoc` is that part of cpuUsPerDoc.
    const idleS = Math.min(10, Math.max(2, seconds));
    const idleCpu0 = cpuOf(r.pid);
    const i0 = performance.now();
    await new Promise((res) => setTimeout(res, idleS * 1000));
    const idleCpuPerS = (cpuOf(r.pid) - idleCpu0) / ((performance.now() - i0) / 1000);
    await r.stop();
    return { name: kind, docsPerSec: n / seconds, cpuUsPerDoc: (cpu / n) * 1e6, threads, events: n, seconds, rss, idleCpuPerS, idleUsPerDoc: ((idleCpuPerS * seconds) / n) * 1e6 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A consumer of both topics from their start that pushes, for each message
 * `keep` accepts, now minus its @timestamp onto `lat`. The topics are created
 * first, so it reads from the start without waiting for a rebalance.
 */
async function latencyConsumer(run: string, topics: { alerts: string; events: string }, keep: (value: Buffer) => boolean, lat: number[]): Promise<() => Promise<void>> {
  // The sensor compresses with lz4 by default: the reader needs the codec to decompress.
  useCompression('lz4', 1);
  const kafka = new Kafka({ clientId: `bench-reader-${run}`, brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: topics.alerts }, { topic: topics.events }] });
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: `bench-${run}`, maxWaitTimeInMs: 20 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.alerts, topics.events], fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const now = performance.timeOrigin + performance.now();
      for (const m of batch.messages) {
        if (!m.value || !keep(m.value)) continue;
        const ts = /"@timestamp":"([^"]+)"/.exec(m.value.toString('latin1', 0, 80))?.[1];
        if (ts) lat.push(now - isoToEpochMs(ts));
      }
    },
  });
  return () => consumer.disconnect();
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
    stopConsumer = await latencyConsumer(run, topics, () => true, lat);
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

/** Creates `rate` files per second in `dir` for `seconds`; prints the time (ms since the epoch, sub-ms) taken just before each open. */
const GENERATOR = `
const fs = require('fs');
const [dir, rate, secs] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const n = rate * secs, times = new Float64Array(n), t0 = performance.now();
let i = 0;
(function tick() {
  const due = Math.min(n, Math.floor(((performance.now() - t0) / 1000) * rate));
  for (; i < due; i++) {
    times[i] = performance.timeOrigin + performance.now();
    fs.closeSync(fs.openSync(dir + '/f' + i, 'w'));
  }
  if (i < n) setTimeout(tick, 2);
  else process.stdout.write(JSON.stringify(Array.from(times)));
})();
`;

interface LiveLatency {
  kafka: number[];
  es: number[];
  n: number;
  rss: { peak: number; hwm: number; pss: number };
}

/**
 * Syscall → visible with the live sensor: `ebpf-sensor run` (BPF programs,
 * bundled rules, both sinks, default settings otherwise) while a child
 * process creates files at `rate`/s. Every open is a kernel event whose
 * @timestamp is the kernel's clock at the syscall.
 */
async function liveLatency(rate: number, seconds: number): Promise<LiveLatency> {
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-bench-live-'));
  const work = join(dir, 'w');
  mkdirSync(work);
  const marker = Buffer.from(`"path":"${work}/f`);
  const run = `benchlive${Date.now().toString(36)}`;
  const topics = { alerts: `${run}-alerts`, events: `${run}-events` };
  const streams = { alerts: `logs-ebpf_sensor.alerts-${run}`, events: `logs-ebpf_sensor.events-${run}` };
  const n = rate * seconds;
  const kafkaLat: number[] = [];
  const warmMarker = Buffer.from(`"path":"${dir}/warm"`);
  let warmInKafka = false;
  const keep = (v: Buffer): boolean => {
    if (!warmInKafka && v.indexOf(warmMarker) >= 0) warmInKafka = true;
    return v.indexOf(marker) >= 0;
  };
  const stopConsumer = await latencyConsumer(run, topics, keep, kafkaLat);
  const es = (await elasticsearchClient('elasticsearch')).client;
  const cfg = writeRunnerConfig({
    dir,
    brokers: kafkaBrokers(),
    topics,
    esNode: elasticsearchNode('elasticsearch'),
    dataStreams: streams,
    extra: { log: { level: 'info' }, journal: { fsyncIntervalMs: 100 } },
  });
  const sensor = spawn(process.execPath, [join(packageRoot, 'bin/ebpf-sensor.js'), 'run', '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  sensor.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-100_000)));
  const exited = new Promise<void>((res) => sensor.on('exit', () => res()));
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`the sensor did not start within 60 s:\n${err}`)), 60_000);
      sensor.stderr!.on('data', () => {
        if (/ebpf-sensor [\d.]+ running/.test(err)) {
          clearTimeout(t);
          resolve();
        }
      });
      void exited.then(() => reject(new Error(`the sensor exited before running:\n${err}`)));
    });
    // Warm up: one file created and waited for in both sinks, so the measure
    // starts with the sinks connected and the templates and data streams in place.
    writeFileSync(join(dir, 'warm'), '');
    const warmBy = Date.now() + 120_000;
    for (let inEs = false; !(inEs && warmInKafka); await new Promise((r) => setTimeout(r, 100))) {
      if (Date.now() > warmBy) throw new Error(`the warm-up event did not reach both sinks in 120 s (Kafka: ${warmInKafka}, Elasticsearch: ${inEs})`);
      if (!inEs) {
        try {
          const c = await es.count({ index: `${streams.alerts},${streams.events}`, ignore_unavailable: true, query: { term: { 'file.path': join(dir, 'warm') } } });
          inEs = c.count > 0;
        } catch {
          /* the data streams do not exist yet */
        }
      }
    }
    const stop = sampleRss(sensor.pid!);
    // Elasticsearch: the newest visible @timestamp of the generated files, every 100 ms.
    const polls: Array<{ at: number; newest: number }> = [];
    let generating = true;
    let lastTime = Infinity;
    const poll = (async () => {
      let endAt = Infinity;
      for (;;) {
        await new Promise((r) => setTimeout(r, 100));
        if (!generating && endAt === Infinity) endAt = Date.now() + 120_000;
        if (Date.now() > endAt) return;
        try {
          const res = await es.search({
            index: `${streams.alerts},${streams.events}`,
            size: 0,
            ignore_unavailable: true,
            query: { prefix: { 'file.path': `${work}/f` } },
            aggs: { t: { max: { field: '@timestamp' } } },
          });
          const v = (res.aggregations?.t as { value: number | null } | undefined)?.value;
          if (v !== null && v !== undefined) {
            polls.push({ at: performance.timeOrigin + performance.now(), newest: v });
            if (v >= Math.floor(lastTime)) return;
          }
        } catch {
          /* the data streams do not exist yet */
        }
      }
    })();
    const gen = await new Promise<string>((resolve, reject) => {
      const g = spawn(process.execPath, ['-e', GENERATOR, work, String(rate), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      g.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      g.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`generator exited with ${code}`))));
    });
    const times = JSON.parse(gen) as number[];
    lastTime = times.at(-1)!;
    generating = false;
    const deadline = Date.now() + 120_000;
    while (kafkaLat.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await poll;
    const rss = stop();
    // Each syscall becomes visible at the first poll whose newest @timestamp (ms) reaches it.
    const esLat: number[] = [];
    let p = 0;
    for (const t of times) {
      while (p < polls.length && polls[p]!.newest < Math.floor(t)) p++;
      if (p === polls.length) break;
      esLat.push(polls[p]!.at - t);
    }
    return { kafka: kafkaLat.sort((a, b) => a - b), es: esLat.sort((a, b) => a - b), n, rss };
  } finally {
    sensor.kill('SIGINT');
    await exited;
    await stopConsumer();
    await es.close();
    rmSync(dir, { recursive: true, force: true });
  }
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
    // The file output drains the same kind of journal: what the sensor side costs without a network sink.
    for (const [kind, n] of [
      ['file', Math.max(KAFKA_N, ES_N)],
      ['kafka', KAFKA_N],
      ['elasticsearch', ES_N],
    ] as const) {
      if (n <= 0) continue;
      const res = await throughput(kind, n);
      rows.push(res);
      console.log(
        `  ${kind.padEnd(14)} ${fmt(res.docsPerSec).padStart(8)} documents/s  (${fmt(res.events)} in ${res.seconds.toFixed(1)} s; sensor CPU ${res.cpuUsPerDoc.toFixed(1)} µs/document [${res.threads}], idle ${(res.idleCpuPerS * 1000).toFixed(0)} ms CPU/s = ${res.idleUsPerDoc.toFixed(1)} of those µs, net ${(res.cpuUsPerDoc - res.idleUsPerDoc).toFixed(1)}; sensor RSS peak ${mb(res.rss.peak)}, VmHWM ${mb(res.rss.hwm)})${kind === 'file' ? '' : `  target ${kind === 'kafka' ? '100,000' : '20,000'}/s`}`,
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
    if (LATENCY_S > 0) {
      const why = bpfUnavailableReason();
      const rate = Number(process.env.BENCH_LIVE_RATE ?? 400);
      console.log(`\n# latency, syscall -> visible, the live sensor (ebpf-sensor run, both sinks) while a process creates ${rate} files/s, ${LATENCY_S} s`);
      if (why) console.log(`  skipped: ${why}`);
      else {
        const l = await liveLatency(rate, LATENCY_S);
        const line = (name: string, ms: number[], target: number, how: string): string =>
          `  ${name.padEnd(14)} p50 ${Math.round(percentile(ms, 50))} ms  p99 ${Math.round(percentile(ms, 99))} ms  max ${Math.round(ms.at(-1) ?? NaN)} ms  (${fmt(ms.length)} of ${fmt(l.n)} ${how}; target p99 <= ${target} ms)`;
        console.log(line('kafka', l.kafka, 500, 'messages'));
        console.log(line('elasticsearch', l.es, 2000, 'documents, search polled every 100 ms'));
        console.log(`  sensor RSS peak ${mb(l.rss.peak)}, VmHWM ${mb(l.rss.hwm)}, PSS peak ${mb(l.rss.pss)} (PSS: shared pages divided among their mappings)`);
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
