// Issue #14: the Kafka sink's one-pass record batch encoder
// (src/sinks/kafka/kafka-records.ts) writes exactly the bytes kafkajs' own
// Record and RecordBatch encoders write, compressed or not, and kafkajs'
// produce request uses it once it is installed.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { CompressionTypes } from 'kafkajs';
import { installRecordEncoder } from '../../src/sinks/kafka/kafka-records.js';
import { useCompression } from '../../src/sinks/kafka/kafka-codecs.js';
import { crc32c } from '../../src/sinks/kafka/crc32c.js';

const require = createRequire(import.meta.url);
const base = require.resolve('kafkajs').replace(/index\.js$/, '');
type Enc = { buffer: Buffer; size(): number };
type RecordFn = (a: Record<string, unknown>) => unknown;
type BatchFn = (a: Record<string, unknown>) => Promise<Enc>;
const recordPath = require.resolve(`${base}src/protocol/recordBatch/record/v0/index.js`);
const batchPath = require.resolve(`${base}src/protocol/recordBatch/v0/index.js`);
const Long = require(`${base}src/utils/long.js`) as { fromValue(v: number): unknown; fromInt(v: number): unknown };

// kafkajs' own encoders, taken before the installation replaces them.
const kafkajsRecord = require(recordPath) as RecordFn;
const kafkajsBatch = (require(batchPath) as { RecordBatch: BatchFn }).RecordBatch;

// kafkajs' byte-by-byte CRC-32C (its batch encoder above holds it already), and a count of the
// calls anything required after this line makes to it: the one-pass encoder must not (crc32c.ts).
const crcPath = require.resolve(`${base}src/protocol/recordBatch/crc32C/index.js`);
const kafkajsCrc = require(crcPath) as (b: Buffer) => number;
let kafkajsCrcCalls = 0;
require.cache[crcPath]!.exports = (b: Buffer): number => {
  kafkajsCrcCalls++;
  return kafkajsCrc(b);
};

function messages(n: number, seed: number): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (let i = 0; i < n; i++) {
    const size = (i * 7919 + seed) % 3000;
    out.push({
      key: i % 3 === 0 ? Buffer.from('web-01') : i % 3 === 1 ? `entity-${i}` : null,
      value: i % 11 === 5 ? null : Buffer.from(`{"n":${i},"pad":"${'x'.repeat(size)}","ü":"é"}`),
      offsetDelta: i,
      timestampDelta: i % 5 === 0 ? 0 : i * 1000 + (i % 4 === 0 ? 2 ** 40 : 0),
    });
  }
  return out;
}

async function encode(record: RecordFn, batch: BatchFn, msgs: Array<Record<string, unknown>>, compression: number, transactional: boolean): Promise<Buffer> {
  const enc = await batch({
    compression,
    records: msgs.map((m) => record(m)),
    firstTimestamp: 1_700_000_000_123,
    maxTimestamp: 1_700_000_009_999,
    // The producer hands what the broker answered: a string as often as a Long.
    producerId: msgs.length === 2 ? '4242' : msgs.length === 37 ? BigInt(2 ** 40 + 7) : Long.fromValue(4242),
    producerEpoch: 3,
    firstSequence: 777,
    transactional,
    lastOffsetDelta: msgs.length - 1,
  });
  return Buffer.from(enc.buffer);
}

test('issue-14: one-pass record batches are kafkajs record batches, byte for byte', async () => {
  useCompression('lz4', 1);
  const want: Buffer[] = [];
  const cases: Array<[number, number, boolean]> = [];
  for (const compression of [CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.LZ4]) {
    for (const n of [1, 2, 37, 1000]) cases.push([compression, n, n === 37]);
  }
  for (const [c, n, tx] of cases) want.push(await encode(kafkajsRecord, kafkajsBatch, messages(n, n + c), c, tx));

  assert.equal(installRecordEncoder(), true, 'installed before any produce request was loaded');
  const ours = require(recordPath) as RecordFn;
  const oursBatch = (require(batchPath) as { RecordBatch: BatchFn }).RecordBatch;
  assert.notEqual(ours, kafkajsRecord, 'the record encoder was replaced');
  for (let k = 0; k < cases.length; k++) {
    const [c, n, tx] = cases[k]!;
    const got = await encode(ours, oursBatch, messages(n, n + c), c, tx);
    assert.ok(got.equals(want[k]!), `compression ${c}, ${n} records: ${got.length} bytes against kafkajs' ${want[k]!.length}`);
  }

  // A record with headers goes to kafkajs' own encoder; the batch is still kafkajs' bytes.
  const mixed = messages(5, 1);
  mixed[2]!.headers = { trace: 'abc', list: ['1', '2'] };
  const wantMixed = await encode(kafkajsRecord, kafkajsBatch, mixed, CompressionTypes.None, false);
  assert.ok((await encode(ours, oursBatch, mixed, CompressionTypes.None, false)).equals(wantMixed));

  // kafkajs' produce request (loaded after the installation) encodes with ours.
  const request = require(`${base}src/protocol/requests/produce/v3/request.js`) as (a: Record<string, unknown>) => { encode(): Promise<Enc> };
  const ts = 1_700_000_000_000;
  const sent = messages(10, 3).map((m) => ({ key: m.key, value: m.value, timestamp: ts }));
  const topicData = [{ topic: 't', partitions: [{ partition: 0, firstSequence: 0, messages: sent }] }];
  const body = (await request({ acks: -1, timeout: 1000, compression: CompressionTypes.None, topicData }).encode()).buffer;
  const expected = await kafkajsBatch({
    compression: CompressionTypes.None,
    records: sent.map((m, i) => kafkajsRecord({ ...m, offsetDelta: i, timestampDelta: 0 })),
    firstTimestamp: ts,
    maxTimestamp: ts,
    producerId: Long.fromInt(-1),
    producerEpoch: 0,
    firstSequence: 0,
    transactional: false,
    lastOffsetDelta: sent.length - 1,
  });
  assert.ok(body.includes(expected.buffer), 'the produce request holds the record batch kafkajs would have written');
  assert.equal(installRecordEncoder(), true, 'idempotent');
});

test('issue-14: the batch CRC-32C is crc32c.ts, equal to kafkajs\' own on every length and offset', async () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283, 'the CRC-32C check value');
  assert.equal(crc32c(Buffer.alloc(0)), kafkajsCrc(Buffer.alloc(0)));
  let seed = 7;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  const big = Buffer.alloc(70_000);
  for (let i = 0; i < big.length; i++) big[i] = rnd();
  for (let len = 0; len <= 300; len++) {
    for (const off of [0, 1, 3, 13]) {
      const b = big.subarray(off, off + len);
      assert.equal(crc32c(b), kafkajsCrc(b), `length ${len} at offset ${off}`);
    }
  }
  assert.equal(crc32c(big), kafkajsCrc(big));
  assert.equal(crc32c(Buffer.alloc(4096, 0xff)), kafkajsCrc(Buffer.alloc(4096, 0xff)));

  // The installed batch encoder checksums with crc32c.ts, not with kafkajs' byte-by-byte loop.
  assert.equal(installRecordEncoder(), true);
  const oursBatch = (require(batchPath) as { RecordBatch: BatchFn }).RecordBatch;
  const ours = require(recordPath) as RecordFn;
  const before = kafkajsCrcCalls;
  for (const c of [CompressionTypes.None, CompressionTypes.LZ4]) {
    const got = await encode(ours, oursBatch, messages(50, 9), c, false);
    const crc = got.readUInt32BE(17);
    assert.equal(crc, kafkajsCrc(got.subarray(21)), 'the CRC covers the batch after its CRC field');
  }
  assert.equal(kafkajsCrcCalls, before, "kafkajs' CRC-32C was not called by the one-pass encoder");
});
