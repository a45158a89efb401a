/**
 * bench/live-sinks: what the live benchmark (bench/live.ts) needs to run the
 * sensor with a Kafka or Elasticsearch output instead of a file: the
 * sensor's config for the sink, a reader of what arrived (the same counts as
 * the file tail: lines, the storm's lines, its exit, kernel losses), the
 * Elasticsearch node's own CPU, and a bare kafkajs producer sending the same
 * bytes (bench/kafka-producer.ts) for the "bare + 15 µs" target.
 *
 * Takes: the sink kind and a run name. Gives: `LiveSink`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { useCompression } from '../src/sinks/kafka/kafka-codecs.js';
import { elasticsearchClient, elasticsearchNode, kafkaBrokers, service } from '../test/services/services.js';
import { packageRoot } from '../src/sources/kernel/paths.js';

export type LiveSinkKind = 'file' | 'kafka' | 'elasticsearch';

/** Counts of delivered lines, as bench/live.ts's file tail keeps them. */
export class LineCounts {
  lines = 0;
  kernelLost = 0;
  /** Lines of the storm process and its children, and whether its own exit was delivered. */
  stormLines = 0;
  stormExited = false;
  stormPid = 0;
  count(line: string): void {
    this.lines++;
    if (this.stormPid) {
      if (line.includes(`"process":{"pid":${this.stormPid},`)) {
        this.stormLines++;
        if (line.includes('"ebpf":{"kind":"exit"')) this.stormExited = true;
      } else if (line.includes(`"parent":{"pid":${this.stormPid},`)) this.stormLines++;
    }
    if (line.includes('"events-lost"') || line.includes('act=events-lost')) {
      const m = /"kernel":(\d+)/.exec(line) ?? /kernel=(\d+)/.exec(line);
      if (m) this.kernelLost += Number(m[1]);
    }
  }
}

/** A reader of one sensor run's output. */
export interface Arrivals extends LineCounts {
  poll(): Promise<void> | void;
  close(): Promise<void>;
  /** Kafka: every value read, in order (for the bare producer). */
  values?: Buffer[];
}

const CLK_TCK = 100;

function cpuOf(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** CPU seconds of the Elasticsearch node's processes (launcher and JVM). */
export function elasticsearchCpu(): number {
  const rec = service('elasticsearch');
  const pids = new Set([...(rec.members ?? []).map((m) => m.pid), ...(rec.process ? [rec.process.pid] : [])]);
  let s = 0;
  for (const pid of pids) s += cpuOf(pid);
  return s;
}

/** The sensor config lines (YAML) that send its events to `kind` under names of `run`. */
export function sinkConfig(kind: LiveSinkKind, run: string): string {
  if (kind === 'kafka') {
    return `output:\n  enabled: false\nkafka:\n  brokers: ${JSON.stringify(kafkaBrokers())}\n  topics:\n    alerts: ${run}-alerts\n    events: ${run}-events\n`;
  }
  if (kind === 'elasticsearch') {
    return (
      `output:\n  enabled: false\nelasticsearch:\n  node: ${elasticsearchNode('elasticsearch')}\n  requestTimeoutMs: 60000\n` +
      `  dataStreams:\n    alerts: logs-ebpf_sensor.alerts-${run}\n    events: logs-ebpf_sensor.events-${run}\n`
    );
  }
  return '';
}

class KafkaArrivals extends LineCounts implements Arrivals {
  values: Buffer[] = [];
  private constructor(private readonly consumer: Consumer) {
    super();
  }
  static async open(run: string): Promise<KafkaArrivals> {
    useCompression('lz4', 1);
    useCompression('zstd', 1);
    const kafka = new Kafka({ clientId: `bench-live-${run}`, brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
    // The sensor creates its topics with its first send; a consumer cannot subscribe before they exist.
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: `${run}-alerts` }, { topic: `${run}-events` }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    const consumer = kafka.consumer({
      groupId: `bench-live-${run}`,
      maxBytes: 64 << 20,
    });
    const a = new KafkaArrivals(consumer);
    await consumer.connect();
    for (const t of [`${run}-alerts`, `${run}-events`]) await consumer.subscribe({ topic: t, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          if (!m.value) continue;
          a.values.push(m.value);
          a.count(m.value.toString('utf8'));
        }
      },
    });
    return a;
  }
  poll(): void {}
  async close(): Promise<void> {
    await this.consumer.disconnect();
  }
}

class EsArrivals extends LineCounts implements Arrivals {
  private constructor(
    private readonly es: Awaited<ReturnType<typeof elasticsearchClient>>,
    private readonly index: string,
  ) {
    super();
  }
  static async open(run: string): Promise<EsArrivals> {
    return new EsArrivals(await elasticsearchClient('elasticsearch'), `logs-ebpf_sensor.*-${run}`);
  }
  private async count_(query: Record<string, unknown>): Promise<number> {
    const r = (await this.es.client.count({ index: this.index, query, ignore_unavailable: true, allow_no_indices: true } as never)) as { count: number };
    return r.count;
  }
  async poll(): Promise<void> {
    // No forced refresh: the node's own (1 s, kept going by these searches) shows new documents. A
    // refresh forced every poll made the node write a segment 4 times a second during the storm,
    // and its indexing, competing with the sensor for the two vCPUs, slower. While a storm's exit is
    // awaited, one query per poll (is it there?); the counts once it is: the node's CPU, reported
    // apart, is then mostly its indexing, not this benchmark's searches.
    if (this.stormPid && !this.stormExited) {
      const pid = this.stormPid;
      if ((await this.count_({ bool: { filter: [{ term: { 'process.pid': pid } }, { term: { 'event.action': 'end' } }] } })) === 0) return;
      // Bulks go one at a time in journal order: the refresh that shows the exit shows all before it.
    }
    this.lines = await this.count_({ match_all: {} });
    if (this.stormPid) {
      const pid = this.stormPid;
      this.stormLines = await this.count_({ bool: { should: [{ term: { 'process.pid': pid } }, { term: { 'process.parent.pid': pid } }], minimum_should_match: 1 } });
      this.stormExited = (await this.count_({ bool: { filter: [{ term: { 'process.pid': pid } }, { term: { 'event.action': 'end' } }] } })) > 0;
    }
    const lost = (await this.es.client.search({ index: this.index, size: 1000, query: { term: { 'event.action': 'events-lost' } } } as never)) as {
      hits: { hits: Array<{ _source: unknown }> };
    };
    let k = 0;
    for (const h of lost.hits.hits) {
      const m = /"kernel":(\d+)/.exec(JSON.stringify(h._source));
      if (m) k += Number(m[1]);
    }
    this.kernelLost = k;
  }
  async close(): Promise<void> {
    await this.es.client.close();
  }
}

/** A reader of what the sensor delivered to `kind` (file: undefined, bench/live.ts tails the file). */
export async function openArrivals(kind: LiveSinkKind, run: string): Promise<Arrivals | undefined> {
  if (kind === 'kafka') return KafkaArrivals.open(run);
  if (kind === 'elasticsearch') return EsArrivals.open(run);
  return undefined;
}

/**
 * A bare kafkajs producer (bench/kafka-producer.ts, its own process) sending
 * `values` with `codec`: µs of its CPU per message.
 */
export function bareProducerUs(values: readonly Buffer[], dir: string, codec: string, run: string): number {
  const file = join(dir, `${run}-bare.ndjson`);
  writeFileSync(file, Buffer.concat(values.flatMap((v) => [v, Buffer.from('\n')])));
  const r = spawnSync(
    process.execPath,
    [join(packageRoot, 'dist/bench/kafka-producer.js'), file, '--child', codec, '--topic', `${run}-bare`, '--count', String(values.length)],
    { encoding: 'utf8', env: process.env, maxBuffer: 1 << 20 },
  );
  if (r.status !== 0) throw new Error(`bare producer failed:\n${r.stderr}`);
  const x = JSON.parse(r.stdout.trim().split('\n').pop()!) as { cpuS: number; messages: number };
  return (x.cpuS * 1e6) / x.messages;
}
