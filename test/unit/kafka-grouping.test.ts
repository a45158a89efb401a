// Issue #14: the Kafka sink groups a request's messages per partition in
// linear time (src/sinks/kafka/kafka-grouping.ts) — the same partitions, the
// same order as kafkajs' own quadratic grouping — installed before kafkajs
// loads, and hashes a repeated message key once.
// The sink first: its preload must run before anything in this process loads kafkajs.
import { KafkaSink } from '../../src/sinks/kafka/kafka-sink.js';
import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Partitioners } from 'kafkajs';
import { groupMessagesPerPartition, installGrouping, keyMemoPartitioner } from '../../src/sinks/kafka/kafka-grouping.js';

const require = createRequire(import.meta.url);
const base = require.resolve('kafkajs').replace(/index\.js$/, '');
const groupPath = require.resolve(`${base}src/producer/groupMessagesPerPartition.js`);
const sendPath = require.resolve(`${base}src/producer/sendMessages.js`);

type Msg = { key?: Buffer | string | null; partition?: number; value: string };
type Args = { topic: string; partitionMetadata: Array<{ partitionId: number; leader: number }>; message: Msg };
type Group = (a: { topic: string; partitionMetadata: Args['partitionMetadata']; messages: Msg[]; partitioner: (a: Args) => number }) => Record<string, Msg[]>;

/** kafkajs' own grouping, loaded afresh from its file (the cached module is ours now). */
function kafkajsGrouping(): Group {
  const ours = require.cache[groupPath]!;
  delete require.cache[groupPath];
  try {
    return require(groupPath) as Group;
  } finally {
    require.cache[groupPath] = ours;
  }
}

function metadata(n: number): Args['partitionMetadata'] {
  return Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: i === 1 ? -1 : 0 }));
}

test('issue-14: kafkajs loaded by the Kafka sink groups with the linear grouping', () => {
  assert.equal(typeof KafkaSink, 'function');
  assert.ok(require.cache[sendPath], "kafkajs' producer is loaded");
  assert.equal(require.cache[groupPath]!.exports, groupMessagesPerPartition, "kafkajs' sendMessages got the linear grouping");
  assert.equal(installGrouping(), true, 'idempotent');
});

test('issue-14: linear grouping = kafkajs grouping (partitions, order), keyed, explicit and unkeyed messages', () => {
  const theirs = kafkajsGrouping();
  assert.notEqual(theirs, groupMessagesPerPartition);
  const host = Buffer.from('web-01');
  for (const parts of [0, 1, 3, 12]) {
    const msgs: Msg[] = [];
    for (let i = 0; i < 1500; i++) {
      const k = i % 7;
      msgs.push(
        k < 3 ? { key: host, value: `v${i}` } : k === 3 ? { key: `entity-${i % 13}`, value: `v${i}` } : k === 4 ? { key: host, partition: i % Math.max(1, parts), value: `v${i}` } : { value: `v${i}` },
      );
    }
    // Round-robin of unkeyed messages depends on the partitioner's counter: both groupings get the same sequence.
    const seq = (): ((a: Args) => number) => {
      let n = 0;
      const keyed = Partitioners.DefaultPartitioner();
      return (a) => (a.message.key == null && a.message.partition == null ? n++ % a.partitionMetadata.length : keyed(a as never));
    };
    const a = { topic: 't', partitionMetadata: metadata(parts), messages: msgs };
    const want = theirs({ ...a, partitioner: seq() });
    const got = groupMessagesPerPartition({ ...a, partitioner: seq() as never });
    assert.deepEqual(got, want, `${parts} partitions`);
    assert.deepEqual(Object.keys(got), Object.keys(want));
  }
});

test('issue-14: a repeated key is hashed once and gets the partition kafkajs gives it', () => {
  let calls = 0;
  const counting = (): ((a: Args) => number) => {
    const p = Partitioners.DefaultPartitioner();
    return (a) => {
      calls++;
      return p(a as never);
    };
  };
  const memo = keyMemoPartitioner(counting)();
  const plain = Partitioners.DefaultPartitioner();
  const pm = metadata(24);
  const host = Buffer.from('sensor-host-7');
  for (let i = 0; i < 1000; i++) {
    const m = { key: host, value: 'x' };
    assert.equal(memo({ topic: 't', partitionMetadata: pm, message: m }), plain({ topic: 't', partitionMetadata: pm, message: m } as never));
  }
  assert.equal(calls, 1, 'one hash for 1,000 messages of the same key');
  // Other keys, another topic, other metadata, an explicit partition: asked again, same answers as kafkajs'.
  const cases: Args[] = [
    { topic: 't', partitionMetadata: pm, message: { key: 'other', value: 'x' } },
    { topic: 'u', partitionMetadata: pm, message: { key: 'other', value: 'x' } },
    { topic: 'u', partitionMetadata: metadata(5), message: { key: 'other', value: 'x' } },
    { topic: 'u', partitionMetadata: pm, message: { key: 'other', partition: 17, value: 'x' } },
    { topic: 'u', partitionMetadata: pm, message: { key: host, value: 'x' } },
  ];
  for (const c of cases) assert.equal(memo(c), plain(c as never), JSON.stringify({ ...c, partitionMetadata: c.partitionMetadata.length }));
  assert.equal(calls, 1 + cases.length);
  // Unkeyed messages always reach the partitioner (its round-robin counter moves for each).
  const before = calls;
  for (let i = 0; i < 10; i++) memo({ topic: 't', partitionMetadata: pm, message: { value: 'x' } });
  assert.equal(calls, before + 10);
});
