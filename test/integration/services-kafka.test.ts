// Issue #6: the Kafka the harness starts is a real broker (KRaft, loopback,
// the pinned kafkajs talks to it), and an outage made with stopService /
// startService keeps its port and its data.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Kafka, logLevel, type Consumer, type KafkaMessage } from 'kafkajs';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import { kafkaBrokers, service, serviceRunning, startService, stopService } from '../services/services.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

function kafka(): Kafka {
  return new Kafka({
    clientId: 'services-kafka-test',
    brokers: kafkaBrokers(),
    logLevel: logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/** Consumes `topic` from the beginning in a new group until `want` messages arrived. */
async function consumeAll(topic: string, want: number, timeoutMs = 60_000): Promise<KafkaMessage[]> {
  const consumer: Consumer = kafka().consumer({ groupId: `g-${topic}-${Date.now()}` });
  const got: KafkaMessage[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed ${got.length} of ${want} messages from ${topic} in ${timeoutMs} ms`)), timeoutMs);
      void consumer
        .run({
          eachMessage: async ({ message }) => {
            got.push(message);
            if (got.length >= want) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return got;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('test services: Kafka', { timeout: 300_000 }, () => {
  it('is a single KRaft broker/controller on 127.0.0.1, run from the pinned jars', async () => {
    const rec = service('kafka');
    assert.equal(rec.host, '127.0.0.1');
    assert.match(rec.address, /^127\.0\.0\.1:\d+$/);
    const cmdline = readFileSync(`/proc/${rec.process!.pid}/cmdline`, 'utf8').split('\0');
    assert.ok(cmdline.includes('kafka.Kafka'), `pid ${rec.process!.pid} runs ${cmdline.join(' ')}`);
    const classpath = readFileSync(`/proc/${rec.process!.pid}/environ`, 'utf8')
      .split('\0')
      .find((e) => e.startsWith('CLASSPATH='))!;
    assert.ok(classpath.includes(`kafka_2.13-${rec.version}.jar`), 'runs the kafka_2.13 jar of the recorded version');
    // KRaft: formatted metadata with a cluster id, no ZooKeeper anywhere.
    const meta = readFileSync(join(rec.dataDir, 'meta.properties'), 'utf8');
    assert.match(meta, /^cluster\.id=/m);
    assert.match(meta, /^node\.id=1$/m);
    const admin = kafka().admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      assert.deepEqual(
        cluster.brokers.map((b) => `${b.host}:${b.port}`),
        [rec.address],
      );
      assert.equal(cluster.controller, 1, 'the broker is its own controller');
    } finally {
      await admin.disconnect();
    }
  });

  it('produces and consumes a record with kafkajs as pinned in package.json', async () => {
    const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const installed = JSON.parse(readFileSync(join(packageRoot, 'node_modules/kafkajs/package.json'), 'utf8')) as { version: string };
    assert.equal(installed.version, pkg.dependencies.kafkajs);
    const topic = `services-roundtrip-${Date.now()}`;
    const producer = kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const [meta] = await producer.send({
        topic,
        acks: -1,
        messages: [{ key: 'host-1', value: JSON.stringify({ event: { id: 'e-1' } }), headers: { 'content-type': 'application/json' } }],
      });
      assert.equal(meta!.errorCode, 0);
    } finally {
      await producer.disconnect();
    }
    const [msg] = await consumeAll(topic, 1);
    assert.equal(msg!.key!.toString(), 'host-1');
    assert.deepEqual(JSON.parse(msg!.value!.toString()), { event: { id: 'e-1' } });
    assert.equal(msg!.headers!['content-type']!.toString(), 'application/json');
  });

  it('survives stopService/startService with its data and port; a client from before the outage reconnects', async () => {
    const before = service('kafka');
    const topic = `services-outage-${Date.now()}`;
    const producer = kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'before the outage' }] });

      await stopService('kafka');
      try {
        assert.equal(serviceRunning('kafka'), false);
        assert.equal(await portOpen(before.port), false, 'nothing listens on the broker port during the outage');
        await assert.rejects(producer.send({ topic, acks: -1, timeout: 2000, messages: [{ value: 'during the outage' }] }));
      } finally {
        await startService('kafka');
      }

      const after = service('kafka');
      assert.equal(after.address, before.address, 'same address after the restart');
      assert.notEqual(after.process!.pid, before.process!.pid, 'a new process');
      assert.equal(after.dataDir, before.dataDir);
      // The same producer reconnects by itself.
      await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'after the outage' }] });
    } finally {
      await producer.disconnect();
    }
    const values = (await consumeAll(topic, 2)).map((m) => m.value!.toString());
    assert.deepEqual(values, ['before the outage', 'after the outage']);
  });
});
