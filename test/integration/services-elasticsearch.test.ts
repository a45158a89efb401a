// Issue #6: the Elasticsearch the harness starts is a real 9.x node (HTTP on
// loopback, unprivileged user, the pinned client indexes and searches), and an
// outage made with stopService / startService keeps its port and its data.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errors } from '@elastic/elasticsearch';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import { CLIENT_MAJOR } from '../../src/sinks/elasticsearch/es-client.js';
import { elasticsearchClient, service, serviceRunning, startService, stopService } from '../services/services.js';
import { isRunning } from '../services/process-control.js';

function uidOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Uid:'))!;
  return Number(line.split(/\s+/)[1]);
}

describe('test services: Elasticsearch 9.x', { timeout: 900_000 }, () => {
  it('is a real node of the client major on 127.0.0.1, not run as root', async () => {
    const rec = service('elasticsearch');
    assert.match(rec.address, /^http:\/\/127\.0\.0\.1:\d+$/);
    const { client, server, compatibilityMode } = await elasticsearchClient();
    try {
      assert.equal(server.number, rec.version);
      assert.equal(server.major, CLIENT_MAJOR);
      assert.equal(compatibilityMode, false);
      const nodes = await client.nodes.info({ metric: 'http' });
      const [node] = Object.values(nodes.nodes);
      assert.equal(node!.http!.publish_address, `127.0.0.1:${rec.port}`);
      assert.deepEqual(node!.http!.bound_address, [`127.0.0.1:${rec.port}`]);
      const health = await client.cluster.health();
      assert.ok(['yellow', 'green'].includes(health.status));
    } finally {
      await client.close();
    }
    if (process.geteuid?.() === 0) {
      assert.notEqual(uidOf(rec.process!.pid), 0, 'Elasticsearch runs as an unprivileged user');
      assert.equal(rec.runAs, 'ebpf-sensor-test');
    }
  });

  it('indexes, refreshes and searches a document with @elastic/elasticsearch as pinned in package.json', async () => {
    const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const installed = JSON.parse(readFileSync(join(packageRoot, 'node_modules/@elastic/elasticsearch/package.json'), 'utf8')) as {
      version: string;
    };
    assert.equal(installed.version, pkg.dependencies['@elastic/elasticsearch']);
    const { client } = await elasticsearchClient();
    const index = `services-roundtrip-${Date.now()}`;
    try {
      const created = await client.index({
        index,
        id: 'e-1',
        op_type: 'create',
        document: { '@timestamp': '2026-01-01T00:00:00Z', message: 'sshd spawned a shell', host: { name: 'h1' } },
      });
      assert.equal(created.result, 'created');
      await client.indices.refresh({ index });
      const found = await client.search<{ message: string }>({ index, query: { match: { message: 'shell' } } });
      assert.equal(found.hits.hits.length, 1);
      assert.equal(found.hits.hits[0]!._id, 'e-1');
      assert.equal(found.hits.hits[0]!._source!.message, 'sshd spawned a shell');
      // Create semantics: the same id twice is a conflict, not a duplicate.
      await assert.rejects(
        client.index({ index, id: 'e-1', op_type: 'create', document: { message: 'again' } }),
        (e: unknown) => e instanceof errors.ResponseError && e.statusCode === 409,
      );
    } finally {
      await client.indices.delete({ index }, { ignore: [404] });
      await client.close();
    }
  });

  it('survives stopService/startService with its data and port; a client from before the outage reconnects', async () => {
    const before = service('elasticsearch');
    const { client } = await elasticsearchClient();
    const index = `services-outage-${Date.now()}`;
    try {
      await client.index({ index, id: 'kept', document: { message: 'written before the outage' }, refresh: true });

      await stopService('elasticsearch');
      try {
        assert.equal(serviceRunning('elasticsearch'), false);
        await assert.rejects(client.count({ index }, { maxRetries: 0, requestTimeout: 2000 }), errors.ConnectionError);
      } finally {
        await startService('elasticsearch');
      }

      const after = service('elasticsearch');
      assert.equal(after.address, before.address, 'same address after the restart');
      assert.notEqual(after.process!.pid, before.process!.pid, 'a new process');
      const doc = await client.get<{ message: string }>({ index, id: 'kept' });
      assert.equal(doc._source!.message, 'written before the outage');
      const count = await client.count({ index });
      assert.equal(count.count, 1);
    } finally {
      await client.indices.delete({ index }, { ignore: [404] }).catch(() => undefined);
      await client.close();
    }
  });

  it('issue-12: after a crash of the server JVM, or of its launcher, startService stops what is left and starts it again', async () => {
    for (const victim of ['server', 'launcher'] as const) {
      const rec = service('elasticsearch');
      const leader = rec.process!;
      const members = rec.members ?? [];
      const children = members.filter((m) => m.pid !== leader.pid);
      const server = children.find((m) => cmdline(m.pid).includes('org.elasticsearch.bootstrap.Elasticsearch')) ?? children[0];
      assert.ok(server, `the server JVM among the recorded members ${JSON.stringify(members)}`);
      const dead = victim === 'server' ? server : leader;
      process.kill(dead.pid, 'SIGKILL');
      await until(() => !isRunning(dead), `the end of the ${victim}`);
      assert.equal(serviceRunning('elasticsearch'), false, `with its ${victim} killed the service is not running`);
      const back = await startService('elasticsearch');
      assert.notEqual(back.process!.pid, leader.pid, 'a new launcher');
      assert.equal(isRunning(leader) || isRunning(server), false, 'nothing of the crashed service is left');
      const { client } = await elasticsearchClient();
      try {
        const health = await client.cluster.health({ wait_for_status: 'yellow', timeout: '60s' });
        assert.notEqual(health.status, 'red');
      } finally {
        await client.close();
      }
    }
  });
});

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within 60 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
