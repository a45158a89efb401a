/**
 * sinks/kafka grouping: kafkajs 2.2.4's `groupMessagesPerPartition` in linear
 * time, and a partitioner that hashes a repeated key once.
 *
 * Takes: what kafkajs' producer hands them (a topic's messages, its partition
 * metadata, the partitioner). Gives: the same partitions, the same messages
 * in the same order. kafkajs groups a request's messages with
 * `Object.assign(result, { [p]: [...current, message] })`, copying the
 * partition's array once per message: quadratic, ≈ 3 µs per message in
 * requests of 1,000 (docs/benchmarks.md, "Kafka and Elasticsearch on the live
 * path"). Its default partitioner also filters the partition list and runs
 * murmur2 over the key for every message, although the sink's key is the
 * same host name for all of them.
 *
 * kafkajs binds the grouping function when it loads (producer/sendMessages):
 * `installGrouping()` must run before kafkajs is first loaded in the process
 * — kafka-preload.ts, the Kafka sink's first import, does it. Once kafkajs is
 * loaded it leaves kafkajs' own in place (nothing breaks; it is slower).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface PartitionerArgs {
  topic: string;
  partitionMetadata: unknown[];
  message: { key?: unknown; partition?: number | null };
}
type Partitioner = (a: PartitionerArgs) => number;

interface GroupArgs {
  topic: string;
  partitionMetadata: unknown[];
  messages: Array<PartitionerArgs['message']>;
  partitioner: Partitioner;
}

/** kafkajs' grouping, one push per message. */
export function groupMessagesPerPartition({ topic, partitionMetadata, messages, partitioner }: GroupArgs): Record<number, unknown[]> {
  const result: Record<number, unknown[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const list = result[partition];
    if (list) list.push(message);
    else result[partition] = [message];
  }
  return result;
}

/**
 * A kafkajs partitioner factory around `create` (kafkajs' DefaultPartitioner)
 * that remembers the partition of the last key: a message with no partition
 * of its own and the same key (the same Buffer, or an equal string), for the
 * same topic and partition list, gets that partition without asking `create`'s
 * partitioner again. Keyed partitioning depends only on those, so the answer
 * is the one the partitioner would give.
 */
export function keyMemoPartitioner<A extends PartitionerArgs>(create: () => (a: A) => number): () => (a: A) => number {
  return () => {
    const inner = create();
    let lastKey: unknown;
    let lastTopic: string | undefined;
    let lastMetadata: unknown[] | undefined;
    let lastPartition = 0;
    return (a: A): number => {
      const key = a.message.key;
      const own = a.message.partition !== null && a.message.partition !== undefined;
      if (!own && key !== null && key !== undefined && key === lastKey && a.topic === lastTopic && a.partitionMetadata === lastMetadata) return lastPartition;
      const p = inner(a);
      if (!own && key !== null && key !== undefined) {
        lastKey = key;
        lastTopic = a.topic;
        lastMetadata = a.partitionMetadata;
        lastPartition = p;
      }
      return p;
    };
  };
}

let installed: boolean | undefined;

/** Put the linear grouping in place of kafkajs' (see the file comment); true once it is. */
export function installGrouping(): boolean {
  if (installed !== undefined) return installed;
  const base = require.resolve('kafkajs').replace(/index\.js$/, '');
  const sendPath = require.resolve(`${base}src/producer/sendMessages.js`);
  if (require.cache[sendPath]) return (installed = false);
  const groupPath = require.resolve(`${base}src/producer/groupMessagesPerPartition.js`);
  require(groupPath);
  const cached = require.cache[groupPath];
  if (!cached) return (installed = false);
  cached.exports = groupMessagesPerPartition;
  return (installed = true);
}
