/**
 * A bare kafkajs producer against the real test Kafka (test/services): the
 * same ready-made lines sent with each compression the Kafka sink offers,
 * each case in a child process of its own so its CPU (utime + stime: the
 * main thread and libuv's pool, where gzip and lz4 run) is its own. The
 * producer is set up as the sink sets it up (idempotent, acks=-1, one request
 * in flight, the sink's codecs from src/sinks/kafka/kafka-codecs.ts). Prints
 * µs of CPU per message, messages per CPU-second and bytes per message as
 * the broker stores them (its log segments: the record batches as sent).
 * Asserts nothing. Starts Kafka unless EBPF_SENSOR_TEST_SERVICES names
 * running services: hold /tmp/ebpf-sensor-integration.lock.
 *
 *   node dist/bench/kafka-producer.js FILE.ndjson [--codecs none,gzip,lz4,zstd] [--count 100000]
 *        [--request-bytes 1000000] [--rounds 1] [--prof DIR]
 *
 * FILE: ECS lines, e.g. `ebpf-sensor replay CAPTURE -o file:FILE` or a live
 * sensor's output. --prof DIR writes a CPU profile per case (node --cpu-prof).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Kafka, Partitioners, logLevel, type Message } from 'kafkajs';
import { useCompression, type KafkaCompression } from '../src/sinks/kafka/kafka-codecs.js';
import { kafkaBrokers, service } from '../test/services/services.js';
import { benchServices } from './services-helper.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    codecs: { type: 'string', default: 'none,gzip,lz4,zstd' },
    count: { type: 'string', default: '100000' },
    /** Value bytes per produce request (the sink's kafka.maxRequestBytes default: the broker takes 1 MB). */
    'request-bytes': { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '1' },
    level: { type: 'string', default: '1' },
    prof: { type: 'string' },
    child: { type: 'string' },
    topic: { type: 'string' },
  },
});

interface Result {
  codec: string;
  messages: number;
  valueBytes: number;
  cpuS: number;
  wallS: number;
  requests: number;
}

const CLK_TCK = 100;

function cpuOfSelf(): number {
  const s = readFileSync('/proc/self/stat', 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** Lines of `file` as Buffers (what the sink hands kafkajs: the journaled bytes). */
function linesOf(file: string, count: number): Buffer[] {
  const text = readFileSync(file, 'utf8');
  const out: Buffer[] = [];
  let at = 0;
  while (out.length < count) {
    const nl = text.indexOf('\n', at);
    if (nl < 0) {
      if (at === 0) break;
      at = 0; // fewer lines than asked: send them again
      continue;
    }
    if (nl > at) out.push(Buffer.from(text.slice(at, nl)));
    at = nl + 1;
  }
  return out;
}

async function child(codec: KafkaCompression, topic: string): Promise<void> {
  const lines = linesOf(positionals[0]!, Number(values.count));
  const maxBytes = Number(values['request-bytes']);
  const rounds = Number(values.rounds);
  const compression = useCompression(codec, Number(values.level));
  const kafka = new Kafka({ clientId: 'bench-bare-producer', brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const key = 'web-01';
  const send = async (msgs: Message[]): Promise<void> => {
    await producer.sendBatch({ topicMessages: [{ topic, messages: msgs }], acks: -1, compression });
  };
  await send(lines.slice(0, 10).map((value) => ({ key, value }))); // topic created, connections warm
  let requests = 0;
  let valueBytes = 0;
  const c0 = cpuOfSelf();
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    let msgs: Message[] = [];
    let size = 0;
    for (const value of lines) {
      if (size > 0 && size + value.length > maxBytes) {
        await send(msgs);
        requests++;
        msgs = [];
        size = 0;
      }
      msgs.push({ key, value });
      size += value.length;
      valueBytes += value.length;
    }
    await send(msgs);
    requests++;
  }
  const result: Result = { codec, messages: lines.length * rounds, valueBytes, cpuS: cpuOfSelf() - c0, wallS: (performance.now() - t0) / 1000, requests };
  await producer.disconnect();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Bytes of the topic's log segments on the broker (partition 0). */
function storedBytes(topic: string): number {
  const dir = join(service('kafka').dataDir, `${topic}-0`);
  let n = 0;
  for (const f of readdirSync(dir)) if (f.endsWith('.log')) n += statSync(join(dir, f)).size;
  return n;
}

async function main(): Promise<void> {
  if (values.child) return child(values.child as KafkaCompression, values.topic!);
  const file = positionals[0];
  if (!file) {
    console.log('kafka-producer: skipped: give an NDJSON file of ECS lines: node dist/bench/kafka-producer.js FILE [--codecs …]');
    return;
  }
  const svc = await benchServices(['kafka']);
  if (typeof svc === 'string') {
    console.log(`kafka-producer: skipped: ${svc}`);
    return;
  }
  const rows: string[] = [];
  const rowsRequests: number[] = [];
  try {
    const self = fileURLToPath(import.meta.url);
    for (const codec of values.codecs!.split(',')) {
      const topic = `bench-bare-${codec}-${process.pid}-${Date.now()}`;
      const prof = values.prof ? ['--cpu-prof', `--cpu-prof-dir=${values.prof}`, `--cpu-prof-name=kafka-producer-${codec}.cpuprofile`] : [];
      const args = [...prof, self, file, '--child', codec, '--topic', topic, '--count', values.count!, '--request-bytes', values['request-bytes']!, '--rounds', values.rounds!, '--level', values.level!];
      const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: process.env, maxBuffer: 1 << 20 });
      if (r.status !== 0) throw new Error(`case ${codec} failed:\n${r.stderr}`);
      const x = JSON.parse(r.stdout.trim().split('\n').pop()!) as Result;
      const stored = storedBytes(topic);
      rowsRequests.push(x.requests);
      const us = (x.cpuS * 1e6) / x.messages;
      rows.push(
        `| ${codec}${codec === 'gzip' || codec === 'zstd' ? ` ${values.level}` : ''} | ${us.toFixed(1)} | ${Math.round(x.messages / x.cpuS).toLocaleString('en-US')} | ${Math.round(x.messages / x.wallS).toLocaleString('en-US')} | ${(x.valueBytes / x.messages).toFixed(0)} | ${(stored / (x.messages + 10)).toFixed(0)} |`,
      );
      console.error(rows[rows.length - 1]);
    }
  } finally {
    await svc.stop();
  }
  console.log(
    `\nbare kafkajs producer, ${values.count} messages × ${values.rounds} from ${file}, requests of ≤ ${values['request-bytes']} value bytes (${rowsRequests.join('/')} per case), idempotent, acks=-1; node ${process.version}; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  );
  console.log('| compression | µs CPU/message | messages per CPU-s | messages per wall-s | value bytes/message | stored bytes/message |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
}

await main();
