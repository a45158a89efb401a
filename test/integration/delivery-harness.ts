/**
 * Helpers of the delivery integration tests and the delivery benchmark: the
 * sensor-side runner as a child process (delivery-runner.ts), its config,
 * waiting until every sink caught up (through the runner's own /health), and
 * reading back what reached Elasticsearch and Kafka.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { useCompression } from '../../src/sinks/kafka/kafka-codecs.js';
import type { Client } from '@elastic/elasticsearch';
import { stringify } from 'yaml';
import type { HealthReport } from '../../src/telemetry/metrics.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

export interface RunnerConfig {
  dir: string;
  brokers?: string[];
  topics?: { alerts: string; events: string };
  esNode?: string;
  dataStreams?: { alerts: string; events: string };
  deadLetter?: string;
  /** Extra config sections (merged over the defaults here). */
  extra?: Record<string, unknown>;
}

/** Writes the runner's YAML config (loaded by the sensor's own loader) and returns its path. */
export function writeRunnerConfig(c: RunnerConfig): string {
  const cfg: Record<string, unknown> = {
    journal: { dir: join(c.dir, 'journal'), fsyncIntervalMs: 50, maxBytes: 4 * 2 ** 30, segmentBytes: 64 << 20 },
    output: { enabled: false },
    sinks: { startAt: 'oldest', retry: { initialMs: 100, maxMs: 2000 }, drainSeconds: 10 },
    metrics: { host: '127.0.0.1', port: 0 },
    log: { level: process.env.EBPF_SENSOR_LOG_LEVEL ?? 'warn' },
    ...(c.brokers ? { kafka: { brokers: c.brokers, topics: c.topics } } : {}),
    ...(c.esNode
      ? {
          elasticsearch: {
            node: c.esNode,
            dataStreams: c.dataStreams,
            deadLetter: { path: c.deadLetter ?? join(c.dir, 'dead-letter.ndjson') },
            requestTimeoutMs: 60_000,
          },
        }
      : {}),
  };
  for (const [k, v] of Object.entries(c.extra ?? {})) cfg[k] = { ...(cfg[k] as object | undefined), ...(v as object) };
  const file = join(c.dir, 'sensor.yaml');
  writeFileSync(file, stringify(cfg), { mode: 0o600 });
  return file;
}

export interface Runner {
  child: ChildProcess;
  pid: number;
  metricsUrl: string;
  /** Append events from..from+count-1; resolves with the durable position once they are all fsync'ed. */
  append(from: number, count: number): Promise<number>;
  /** Resolves on the runner's `generated` message (RUNNER_RATE mode). */
  generated: Promise<{ count: number; ms: number }>;
  /** Resolves on the runner's `pacing` message (RUNNER_RATE mode): when and from which index it generates at which rate. */
  pacing: Promise<{ t0: number; rate: number; from: number }>;
  health(): Promise<HealthReport>;
  /** Clean stop (bounded drain); resolves with the exit code. */
  stop(): Promise<number | null>;
  kill(): Promise<NodeJS.Signals | null>;
  stderr(): string;
}

const runnerPath = new URL('./delivery-runner.js', import.meta.url);

export async function startRunner(configFile: string, runId: string, env: NodeJS.ProcessEnv = {}): Promise<Runner> {
  const child = fork(runnerPath, [configFile, runId], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'], env: { ...process.env, ...env } });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 200_000) err = err.slice(-100_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const waiters = new Map<number, (durable: number) => void>();
  let generatedResolve!: (g: { count: number; ms: number }) => void;
  const generated = new Promise<{ count: number; ms: number }>((r) => (generatedResolve = r));
  let pacingResolve!: (p: { t0: number; rate: number; from: number }) => void;
  const pacing = new Promise<{ t0: number; rate: number; from: number }>((r) => (pacingResolve = r));
  const ready = new Promise<{ metricsUrl: string; pid: number }>((resolve, reject) => {
    child.on('message', (m: { ready?: { metricsUrl: string; pid: number }; appended?: { from: number }; durable?: number; generated?: { count: number; ms: number }; pacing?: { t0: number; rate: number; from: number } }) => {
      if (m.ready) resolve(m.ready);
      if (m.pacing) pacingResolve(m.pacing);
      if (m.appended) waiters.get(m.appended.from)?.(m.durable!);
      if (m.generated) generatedResolve(m.generated);
    });
    void exited.then(({ code, signal }) => reject(new Error(`runner exited (${code ?? signal}) before it was ready:\n${err}`)));
  });
  const r = await ready;
  return {
    child,
    pid: r.pid,
    metricsUrl: r.metricsUrl,
    generated,
    pacing,
    append(from, count) {
      return new Promise<number>((resolve, reject) => {
        waiters.set(from, (d) => {
          waiters.delete(from);
          resolve(d);
        });
        void exited.then(({ code, signal }) => reject(new Error(`runner exited (${code ?? signal}) during an append:\n${err.slice(-5000)}`)));
        child.send({ cmd: 'append', from, count });
      });
    },
    async health() {
      const res = await fetch(`${r.metricsUrl}/health`, { signal: AbortSignal.timeout(10_000) });
      return (await res.json()) as HealthReport;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.send({ cmd: 'stop' });
      const t = setTimeout(() => child.kill('SIGKILL'), 120_000);
      const { code } = await exited;
      clearTimeout(t);
      return code;
    },
    async kill() {
      child.kill('SIGKILL');
      return (await exited).signal;
    },
    stderr: () => err,
  };
}

/** Polls the runner's /health until every sink has confirmed everything journaled (lag 0), or throws after `timeoutMs`. */
export async function waitDrained(runner: Runner, timeoutMs: number, what = 'all sinks'): Promise<HealthReport> {
  const deadline = Date.now() + timeoutMs;
  let h: HealthReport | undefined;
  for (;;) {
    h = await runner.health();
    const j = h.journal!;
    if (j.durablePosition === j.nextPosition && h.sinks.every((s) => s.lagEvents === 0)) return h;
    if (Date.now() > deadline) {
      throw new Error(`${what} not drained within ${timeoutMs} ms: ${JSON.stringify(h.sinks.map((s) => ({ name: s.name, state: s.state, lag: s.lagEvents, err: s.lastError })))}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Every document id in the given data streams, with how often each occurs (search_after over event.id). */
export async function esIdCounts(client: Client, streams: string[]): Promise<Map<string, number>> {
  const index = streams.join(',');
  await client.indices.refresh({ index, ignore_unavailable: true });
  const counts = new Map<string, number>();
  let after: Array<string | number> | undefined;
  for (;;) {
    const res = await client.search<unknown>({
      index,
      size: 10_000,
      _source: false,
      fields: ['event.id'],
      sort: [{ 'event.id': 'asc' }, { '@timestamp': 'asc' }],
      ignore_unavailable: true,
      ...(after ? { search_after: after } : {}),
    });
    const hits = res.hits.hits;
    for (const h of hits) {
      const id = (h.fields?.['event.id'] as string[] | undefined)?.[0] ?? '';
      if (h._id !== id) throw new Error(`document _id ${h._id} is not its event.id ${id}`);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    if (hits.length < 10_000) return counts;
    after = hits[hits.length - 1]!.sort as Array<string | number>;
  }
}

export interface KafkaRecord {
  topic: string;
  id: string;
  kind: string;
  key: string;
}

/**
 * Reads both topics from the beginning until at least `want` distinct ids
 * arrived and nothing new came for `quietMs`; returns every record.
 */
export async function kafkaRecords(brokers: string[], topics: string[], want: number, timeoutMs = 180_000, quietMs = 3000): Promise<KafkaRecord[]> {
  // The sensor compresses with lz4 by default: the reader needs the codec to decompress.
  useCompression('lz4', 1);
  const kafka = new Kafka({ clientId: 'delivery-test-reader', brokers, logLevel: logLevel.NOTHING });
  const consumer: Consumer = kafka.consumer({ groupId: `reader-${Date.now()}-${Math.random()}`, maxBytes: 64 << 20, maxBytesPerPartition: 32 << 20 });
  const out: KafkaRecord[] = [];
  const ids = new Set<string>();
  let last = Date.now();
  await consumer.connect();
  try {
    for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const doc = JSON.parse(m.value!.toString()) as { event: { id: string; kind: string } };
          out.push({ topic: batch.topic, id: doc.event.id, kind: doc.event.kind, key: m.key?.toString() ?? '' });
          ids.add(doc.event.id);
        }
        last = Date.now();
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (!(ids.size >= want && Date.now() - last > quietMs)) {
      if (Date.now() > deadline) throw new Error(`read ${ids.size} distinct ids of ${want} from ${topics.join(', ')} in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await consumer.disconnect();
  }
  return out;
}
