// Issue #20 (pod labels): the API-server client of kubernetes.podLabels against a local HTTPS
// server that answers GET /api/v1/pods?fieldSelector=spec.nodeName=NODE as the real API does
// (a v1 PodList; the field selector applied by the server; 401 without the right bearer token).
// No real API server runs here: the response shape is the API's, the server is this test's.
// Checked: the in-cluster token and CA are used (and the token re-read: projected tokens rotate),
// only this node's pods are cached, an unknown uid starts one refresh and later events get the
// labels, refreshes are rate-limited and bounded (pods, bytes), a server certificate the CA did not
// sign is refused, and the token never shows in errors, logs, stats or metrics.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { PodApiClient, podApiOptions } from '../../src/enrich/pod-api.js';
import { Enricher } from '../../src/enrich/enrich.js';
import { SensorMetrics } from '../../src/telemetry/metrics.js';
import { SensorError } from '../../src/errors.js';
import { toEcs, ecsJson } from '../../src/normalize/ecs/ecs.js';
import { ecsLine } from '../../src/normalize/ecs/ecs-serializer.js';
import { fieldSpec } from '../../src/rules/fields.js';
import { decodeRecord } from '../../src/decode/decode.js';
import { EventType, Syscall } from '../../src/decode/abi.generated.js';
import { makeTestCertificates } from '../services/rsyslog.js';
import { buildRecord } from '../helpers/record-builder.js';
import { validateEcs } from '../helpers/ecs-validator.js';
import { corpus, HOST, AGENT } from '../helpers/normalize-corpus.js';
import { until } from '../helpers/until.js';

const NODE = 'node-a';
const UID_WEB = '5e2c1f0a-7b3d-4c9e-8f1a-2b3c4d5e6f70';
const UID_DB = '0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e';
const UID_OTHER_NODE = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const CID = 'a'.repeat(8) + '0123456789abcdef'.repeat(3) + 'b'.repeat(8);

let dir: string;
let sa: string;
let token: string;
let tls: { ca: string; cert: string; key: string };
let server: Server;
let url: string;
const seen: Array<{ path: string; authorization: string | undefined }> = [];
/** What the server does next: the real API (default), or a hostile/odd answer. */
let mode: 'api' | 'echo-401' | 'forbidden' | 'huge' = 'api';

/** A v1 Pod as the API returns it (metadata, spec.nodeName, status), trimmed to what matters. */
function pod(uid: string, name: string, namespace: string, node: string, labels: Record<string, string>): unknown {
  return {
    metadata: { name, namespace, uid, resourceVersion: '4711', creationTimestamp: '2026-12-07T10:00:00Z', labels, annotations: { 'kubernetes.io/psp': 'x' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${name}-rs`, uid: '00000000-0000-4000-8000-000000000001', controller: true }] },
    spec: { nodeName: node, containers: [{ name: 'server', image: 'registry.example/web:1.2' }], serviceAccountName: 'default' },
    status: { phase: 'Running', podIP: '10.0.0.7', containerStatuses: [{ name: 'server', containerID: `containerd://${CID}`, ready: true }] },
  };
}

const PODS = [
  pod(UID_WEB, 'web-7d9f8b-x2k4q', 'shop', NODE, { 'app.kubernetes.io/name': 'web', tier: 'frontend', 'pod-template-hash': '7d9f8b' }),
  pod(UID_DB, 'db-0', 'shop', NODE, { app: 'db' }),
  pod(UID_OTHER_NODE, 'web-7d9f8b-zz9zz', 'shop', 'node-b', { tier: 'frontend' }),
];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-podapi-'));
  tls = makeTestCertificates(dir);
  sa = join(dir, 'serviceaccount');
  mkdirSync(sa);
  token = `eyJhbGciOiJSUzI1NiJ9.${randomBytes(24).toString('base64url')}.sig`;
  writeFileSync(join(sa, 'token'), `${token}\n`);
  writeFileSync(join(sa, 'ca.crt'), readFileSync(tls.ca));
  server = createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, (req, res) => {
    const auth = req.headers.authorization;
    seen.push({ path: req.url ?? '', authorization: auth });
    const current = readFileSync(join(sa, 'token'), 'utf8').trim();
    if (mode === 'echo-401' || auth !== `Bearer ${current}`) {
      // A hostile or buggy server echoing the credentials back: nothing of this may be quoted.
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': `Bearer realm="${auth}"` });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `Unauthorized: ${auth}`, reason: 'Unauthorized', code: 401 }));
      return;
    }
    if (mode === 'forbidden') {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'pods is forbidden: User "system:serviceaccount:ebpf-sensor:ebpf-sensor" cannot list resource "pods"', reason: 'Forbidden', code: 403 }));
      return;
    }
    const u = new URL(req.url ?? '/', 'https://x');
    if (u.pathname !== '/api/v1/pods') {
      res.writeHead(404).end();
      return;
    }
    if (mode === 'huge') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: Array.from({ length: 2000 }, (_, i) => pod(`${UID_WEB.slice(0, 30)}${String(i).padStart(6, '0')}`, `p${i}`, 'bulk', NODE, { i: String(i) })) }));
      return;
    }
    // The real API applies the field selector server-side.
    const sel = /^spec\.nodeName=(.+)$/.exec(u.searchParams.get('fieldSelector') ?? '');
    const items = PODS.filter((p) => !sel || (p as { spec: { nodeName: string } }).spec.nodeName === sel[1]);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '4712' }, items }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

function logSink(): { log: pino.Logger; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c.toString());
      cb();
    },
  });
  return { log: pino({ level: 'trace' }, stream), text: () => chunks.join('') };
}

function client(extra: Partial<ConstructorParameters<typeof PodApiClient>[0]> = {}): PodApiClient {
  return new PodApiClient({ url, tokenFile: join(sa, 'token'), caFile: join(sa, 'ca.crt'), nodeName: NODE, minRefreshMs: 60_000, ...extra });
}

test('an unknown pod uid starts one list of this node\'s pods; later lookups have its labels', async () => {
  mode = 'api';
  const c = client();
  const before = seen.length;
  assert.equal(c.pod(UID_WEB), undefined, 'the event that asks first goes on without labels');
  const meta = await until('labels of the web pod', () => c.pod(UID_WEB), 10_000);
  assert.deepEqual(meta, { name: 'web-7d9f8b-x2k4q', namespace: 'shop', labels: ['app.kubernetes.io/name:web', 'pod-template-hash:7d9f8b', 'tier:frontend'] });
  assert.deepEqual(c.pod(UID_DB)?.labels, ['app:db']);
  assert.equal(c.pod(UID_OTHER_NODE), undefined, 'pods of other nodes are not listed');
  const reqs = seen.slice(before);
  assert.equal(reqs.length, 1, 'one list for the first unknown uid; the other misses are within minRefreshMs');
  assert.equal(reqs[0]!.path, `/api/v1/pods?fieldSelector=spec.nodeName%3D${NODE}`);
  assert.equal(reqs[0]!.authorization, `Bearer ${token}`);
  assert.deepEqual({ refreshes: c.stats.refreshes, failures: c.stats.failures, pods: c.stats.pods }, { refreshes: 1, failures: 0, pods: 2 });
});

test('refreshes are at least minRefreshMs apart and one at a time; the token is re-read for each', async () => {
  mode = 'api';
  const c = client({ minRefreshMs: 5_000 });
  const n0 = seen.length;
  const t0 = 1_000_000;
  const first = c.refreshIfDue(t0);
  assert.equal(c.refreshIfDue(t0 + 1), first, 'a refresh in flight is shared');
  await first;
  await c.refreshIfDue(t0 + 4_999);
  assert.equal(seen.length - n0, 1, 'not again before minRefreshMs');
  // The kubelet rotates projected tokens: the next refresh sends the new one.
  const rotated = `eyJhbGciOiJSUzI1NiJ9.${randomBytes(24).toString('base64url')}.sig2`;
  writeFileSync(join(sa, 'token'), rotated);
  try {
    await c.refreshIfDue(t0 + 5_000);
    assert.equal(seen.length - n0, 2);
    assert.equal(seen.at(-1)!.authorization, `Bearer ${rotated}`);
    assert.equal(c.stats.failures, 0);
  } finally {
    writeFileSync(join(sa, 'token'), `${token}\n`);
  }
});

test('bounded: at most maxPods pods kept (the rest counted), a response past maxBytes is refused', async () => {
  mode = 'huge';
  try {
    const c = client({ maxPods: 100 });
    await c.refresh();
    assert.equal(c.stats.pods, 100);
    assert.equal(c.stats.dropped, 1900);
    const small = client({ maxBytes: 64 * 1024 });
    await assert.rejects(small.refresh(), (e: unknown) => e instanceof SensorError && e.code === 'ESENSOR_KUBE_API' && /larger than 65536 bytes/.test(e.message));
  } finally {
    mode = 'api';
  }
});

test('the CA is the service account\'s: a server certificate it did not sign is refused', async () => {
  const other = mkdtempSync(join(tmpdir(), 'ebpf-sensor-podapi-ca-'));
  try {
    const wrong = makeTestCertificates(other);
    const c = client({ caFile: wrong.ca });
    await assert.rejects(c.refresh(), (e: unknown) => e instanceof SensorError && e.code === 'ESENSOR_KUBE_API' && /unreachable/.test(e.message));
  } finally {
    rmSync(other, { recursive: true, force: true });
  }
});

test('the token never shows: not in errors, logs, stats or metrics, even when the server echoes it', async () => {
  const { log, text } = logSink();
  const metricsOf = async (c: PodApiClient): Promise<string> => new SensorMetrics({ version: 't', podApi: () => c.stats }, { defaultMetrics: false }).metrics();
  for (const m of ['echo-401', 'forbidden'] as const) {
    mode = m;
    try {
      const c = client({ log });
      const err = await c.refresh().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof SensorError && err.code === 'ESENSOR_KUBE_API', String(err));
      assert.match(err.message, m === 'echo-401' ? /refused the service account token \(401\)/ : /may not list pods \(403\).*get\/list on pods/);
      // The background path: logged and counted.
      c.pod(UID_WEB);
      await until('the failed refresh counted', () => c.stats.failures === 1, 10_000);
      const everything = [err.message, String(err.stack), JSON.stringify(err), JSON.stringify(c.stats), text(), await metricsOf(c)].join('\n');
      assert.ok(!everything.includes(token), `the token leaked (${m})`);
      assert.ok(!everything.includes(token.split('.')[1]!), `part of the token leaked (${m})`);
      assert.match(text(), /pod labels: the (API server refused|service account may not)/);
      assert.match(await metricsOf(c), /ebpf_sensor_k8s_pod_lists_total\{result="error"\} 1/);
      assert.equal(seen.at(-1)!.authorization, `Bearer ${token}`, 'the server did get it');
    } finally {
      mode = 'api';
    }
  }
  // No service account (not in a pod): a plain error naming the file, no token to leak.
  const none = client({ tokenFile: join(dir, 'nowhere', 'token') });
  await assert.rejects(none.refresh(), /no service account: cannot read .*nowhere\/token \(ENOENT\)/);
});

test('configuration: off by default; in a pod the URL, node and files come from the environment', () => {
  const k = { podLabels: false, serviceAccountDir: '/var/run/secrets/kubernetes.io/serviceaccount', refreshSeconds: 10, maxPods: 1024 };
  assert.equal(podApiOptions(k, { KUBERNETES_SERVICE_HOST: '10.96.0.1' }, 'h'), undefined);
  const on = { ...k, podLabels: true };
  assert.deepEqual(podApiOptions(on, { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443', NODE_NAME: 'worker-3' }, 'h'), {
    url: 'https://10.96.0.1:443',
    tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
    nodeName: 'worker-3',
    minRefreshMs: 10_000,
    maxPods: 1024,
  });
  assert.equal(podApiOptions(on, { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' }, 'host-9')!.url, 'https://[fd00::1]:6443');
  assert.equal(podApiOptions(on, { KUBERNETES_SERVICE_HOST: 'fd00::1' }, 'host-9')!.nodeName, 'host-9');
  assert.throws(() => podApiOptions(on, {}, 'h'), (e: unknown) => e instanceof SensorError && e.code === 'ESENSOR_CONFIG' && e.field === 'kubernetes.apiServer');
  assert.throws(() => new PodApiClient({ url: 'http://127.0.0.1:1', tokenFile: 't', caFile: 'c', nodeName: 'n' }), /https:\/\//);
});

test('events of a pod carry its labels: orchestrator.resource.label, ECS-valid, the serializer agrees, rules can test them', async () => {
  mode = 'api';
  const proc = mkdtempSync(join(tmpdir(), 'ebpf-sensor-proc-'));
  mkdirSync(join(proc, '42'));
  writeFileSync(join(proc, '42', 'cgroup'), `0::/kubepods/burstable/pod${UID_WEB}/${CID}\n`);
  const api = client();
  const en = new Enricher({ hostId: 'h', seedFromProc: false, resolveContainers: true, resolveNames: false, procRoot: proc, hostRoot: join(dir, 'no-host'), podApi: api });
  const open = (): ReturnType<typeof decodeRecord> => {
    const r = buildRecord({ type: EventType.SE_EV_OPEN, pid: 42, ret: 3, args: [0, 0, 0, 0, 0, Syscall.SE_SC_OPENAT], strs: ['/etc/hosts', null, null] });
    return decodeRecord(r, 0, r.length, { bootToRealtimeNs: 1_700_000_000_000_000_000n, bootIdPrefix: 'abcd0123', sequence: 0 });
  };
  const first = open();
  en.enrich(first);
  assert.equal(first.orchestrator?.resource.id, UID_WEB);
  assert.equal(first.orchestrator?.resource.label, undefined, 'the first event does not wait for the API');
  await until('the list', () => api.stats.refreshes === 1, 10_000);
  const later = open();
  en.enrich(later);
  // No /var/log/pods under the host root: name and namespace come from the API too.
  assert.deepEqual(later.orchestrator, { type: 'kubernetes', namespace: 'shop', resource: { type: 'pod', id: UID_WEB, name: 'web-7d9f8b-x2k4q', label: ['app.kubernetes.io/name:web', 'pod-template-hash:7d9f8b', 'tier:frontend'] } });
  assert.deepEqual(fieldSpec('orchestrator.resource.label')!.get(later), ['app.kubernetes.io/name:web', 'pod-template-hash:7d9f8b', 'tier:frontend']);

  const ce = corpus().find((c) => c.event.container)!;
  ce.event.orchestrator = later.orchestrator;
  const ref = ecsJson(toEcs(ce, HOST, AGENT));
  assert.equal(ecsLine(ce, HOST, AGENT), ref);
  const doc = JSON.parse(ref);
  assert.deepEqual(doc.orchestrator.resource.label, ['app.kubernetes.io/name:web', 'pod-template-hash:7d9f8b', 'tier:frontend']);
  assert.deepEqual(validateEcs(doc), []);
  rmSync(proc, { recursive: true, force: true });
});
