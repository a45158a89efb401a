/**
 * Where kafkajs spends CPU per message, without a broker: kafkajs 2.2.4's
 * own produce request encoder (v3: record batch v2, CRC-32C, compression)
 * over 1,000 ready-made lines, with each compression the sensor offers.
 * Prints µs of process CPU per message (main thread + zlib's thread pool)
 * and bytes on the wire. Asserts nothing.
 *
 *   node dist/bench/kafka-encode.js FILE.ndjson   (e.g. a live sensor's ECS output)
 *   node --cpu-prof dist/bench/kafka-encode.js FILE.ndjson none   (one case, for a profile)
 *   KAFKA_ENCODER=kafkajs node dist/bench/kafka-encode.js FILE.ndjson   (kafkajs' own record encoders,
 *     not the sensor's one-pass encoder: src/sinks/kafka/kafka-records.ts)
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';

import { installRecordEncoder } from '../src/sinks/kafka/kafka-records.js';
import { useCompression } from '../src/sinks/kafka/kafka-codecs.js';

const require = createRequire(import.meta.url);
// Before the produce request module loads (it binds the record encoders then).
const encoder = process.env.KAFKA_ENCODER === 'kafkajs' ? "kafkajs' own" : installRecordEncoder() ? 'one-pass (kafka-records.ts)' : "kafkajs' own (install failed)";
const root = require.resolve('kafkajs').replace(/index\.js$/, 'src/');
const request = require(`${root}protocol/requests/produce/v3/request.js`) as (o: unknown) => { encode(): Promise<{ size(): number }> };
const compression = require(`${root}protocol/message/compression`) as { Types: Record<string, number>; Codecs: Record<number, () => unknown> };
const Long = require(`${root}utils/long`) as { fromInt(n: number): unknown };

const file = process.argv[2];
if (!file) {
  console.log('kafka-encode: skipped: give an NDJSON file of ECS lines (e.g. a live sensor output): node dist/bench/kafka-encode.js FILE [case]');
  process.exit(0);
}
const only = process.argv[3];
const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(0, 1000);
const N = lines.length;

async function run(name: string, type: number, buffers: boolean, rounds: number): Promise<void> {
  if (only && !name.startsWith(only)) return;
  const messages = lines.map((l) => ({ key: 'host-1', value: buffers ? Buffer.from(l) : l, timestamp: Date.now(), headers: {} }));
  const topicData = [{ topic: 'ebpf-sensor-events', partitions: [{ partition: 0, firstSequence: 0, messages }] }];
  const c0 = process.cpuUsage();
  let bytes = 0;
  for (let r = 0; r < rounds; r++) {
    const enc = await request({ acks: -1, timeout: 30000, compression: type, producerId: Long.fromInt(1), producerEpoch: 0, topicData }).encode();
    bytes += enc.size();
  }
  const c = process.cpuUsage(c0);
  console.log(`${name.padEnd(36)} ${((c.user + c.system) / (rounds * N)).toFixed(2).padStart(7)} µs/message  ${(bytes / rounds / N).toFixed(0).padStart(6)} B/message on the wire`);
}

const T = compression.Types;
console.log(`kafka-encode: ${N} messages of ${(lines.reduce((a, l) => a + l.length, 0) / N).toFixed(0)} B from ${file}; node ${process.version}; record encoder: ${encoder}`);
await run('warm-up', T.None!, true, 5);
await run('none, string values', T.None!, false, 20);
await run('none, Buffer values', T.None!, true, 20);
await run('gzip level 6 (kafkajs default)', T.GZIP!, true, 5);
const gz = promisify(gzip);
compression.Codecs[T.GZIP!] = () => ({ compress: (e: { buffer: Buffer }) => gz(e.buffer, { level: 1 }), decompress: () => Promise.reject(new Error('not used')) });
await run('gzip level 1 (the sensor default)', T.GZIP!, true, 5);
useCompression('lz4', 1);
await run('lz4 (the sensor default)', T.LZ4!, true, 10);
