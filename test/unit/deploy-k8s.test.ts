// Issue #20 point 5: the Kubernetes manifests (deploy/kubernetes) and the
// Helm chart's rendering (deploy/helm/ebpf-sensor, rendered with default
// values into test/fixtures/helm/) validate against the Kubernetes API
// schemas (strict: an unknown key is an error), vendored for v1.27 by
// scripts/gen-k8s-schemas.mjs, with ajv; and they carry what the sensor
// needs on a node. Real helm 3 and helm 4 binaries (scripts/setup.sh
// --with-test-deps) lint the chart, must still render the committed output,
// and render other values into objects the schemas accept.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import { loadConfig } from '../../src/config/config.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const K8S = '1.27';
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
const KIND_FILE: Record<string, [string, string]> = {
  DaemonSet: ['apps/v1', 'daemonset'],
  ConfigMap: ['v1', 'configmap'],
  Secret: ['v1', 'secret'],
  ServiceAccount: ['v1', 'serviceaccount'],
  ClusterRole: ['rbac.authorization.k8s.io/v1', 'clusterrole'],
  ClusterRoleBinding: ['rbac.authorization.k8s.io/v1', 'clusterrolebinding'],
};
const validators = new Map(
  Object.entries(KIND_FILE).map(([kind, [, file]]) => [kind, ajv.compile(JSON.parse(readFileSync(join(packageRoot, `test/fixtures/k8s-schemas/v${K8S}/${file}.json`), 'utf8')))]),
);

function docs(rel: string): Obj[] {
  const out = parseAllDocuments(readFileSync(join(packageRoot, rel), 'utf8')).map((d) => d.toJS() as Obj | null);
  return out.filter((d): d is Obj => d !== null);
}

function problems(d: Obj): string[] {
  const kind = KIND_FILE[d.kind];
  if (!kind) return [`kind ${d.kind} has no vendored schema`];
  if (d.apiVersion !== kind[0]) return [`${d.kind}: apiVersion ${d.apiVersion}, expected ${kind[0]}`];
  const v = validators.get(d.kind)!;
  const what = `${d.kind} ${d.metadata?.name}`;
  if (v(d)) return [];
  const errors = (v.errors ?? []) as Array<{ instancePath: string; message?: string; params: unknown }>;
  return errors.map((e) => `${what}: ${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}

const SOURCES = ['deploy/kubernetes/ebpf-sensor.yaml', 'deploy/kubernetes/secret.example.yaml', 'test/fixtures/helm/ebpf-sensor-default.yaml'];

test(`every manifest validates against the Kubernetes ${K8S} API schemas`, () => {
  for (const f of SOURCES) {
    const list = docs(f);
    assert.ok(list.length > 0, f);
    assert.deepEqual(list.flatMap(problems), [], f);
  }
});

test('the schemas are strict: a misspelt key or a wrong type is refused', () => {
  const ds = docs('deploy/kubernetes/ebpf-sensor.yaml').find((d) => d.kind === 'DaemonSet')!;
  const typo = structuredClone(ds);
  typo.spec.template.spec.hostPid = true;
  assert.ok(problems(typo).some((p) => /additional properties/.test(p)), 'hostPid (for hostPID) refused');
  const wrong = structuredClone(ds);
  wrong.spec.template.spec.containers[0].ports[0].containerPort = 'metrics';
  assert.ok(problems(wrong).length > 0, 'a string port number refused');
});

for (const f of ['deploy/kubernetes/ebpf-sensor.yaml', 'test/fixtures/helm/ebpf-sensor-default.yaml']) {
  test(`${f}: the DaemonSet gives the sensor the node (hostPID, BTF, tracefs, bpffs, /host read-only), limits, probes, metrics, config and credentials`, () => {
    const all = docs(f);
    const ds = all.find((d) => d.kind === 'DaemonSet')!;
    const pod = ds.spec.template.spec;
    const c = pod.containers[0];
    assert.equal(pod.hostPID, true);
    const mounts = Object.fromEntries(c.volumeMounts.map((m: Obj) => [m.name, m]));
    const vols = Object.fromEntries(pod.volumes.map((v: Obj) => [v.name, v]));
    for (const [name, host, ro] of [['btf', '/sys/kernel/btf', true], ['tracefs', '/sys/kernel/tracing', true], ['bpffs', '/sys/fs/bpf', false], ['host', '/', true]] as const) {
      assert.equal(vols[name].hostPath.path, host, name);
      assert.equal(mounts[name].readOnly === true, ro, `${name} read-only: ${ro}`);
    }
    assert.equal(mounts.host.mountPath, '/host');
    assert.ok(c.env.some((e: Obj) => e.name === 'EBPF_SENSOR_HOST__ROOT' && e.value === '/host'), 'container mode on /host');
    assert.ok(c.resources.limits.memory && c.resources.limits.cpu, 'resource limits');
    assert.equal(c.livenessProbe.httpGet.path, '/health');
    assert.equal(ds.spec.template.metadata.annotations['prometheus.io/scrape'], 'true');
    assert.equal(ds.spec.template.metadata.annotations['prometheus.io/port'], String(c.ports[0].containerPort));
    // Capabilities, not privileged: the same set as the systemd unit.
    assert.equal(c.securityContext.privileged, false);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    const unit = readFileSync(join(packageRoot, 'packaging/systemd/ebpf-sensor.service'), 'utf8');
    const unitCaps = /^CapabilityBoundingSet=(.*)$/m.exec(unit)![1]!.trim().split(/\s+/).map((x) => x.replace(/^CAP_/, ''));
    assert.deepEqual([...c.securityContext.capabilities.add].sort(), unitCaps.sort());
    // Credentials from a Secret, optional; the config from the ConfigMap, which the sensor accepts.
    const secretEnv = c.env.filter((e: Obj) => e.valueFrom?.secretKeyRef);
    assert.deepEqual(secretEnv.map((e: Obj) => e.name).sort(), ['EBPF_SENSOR_ELASTICSEARCH__AUTH', 'EBPF_SENSOR_ELASTICSEARCH__NODE', 'EBPF_SENSOR_KAFKA__BROKERS', 'EBPF_SENSOR_KAFKA__SASL']);
    assert.ok(secretEnv.every((e: Obj) => e.valueFrom.secretKeyRef.optional === true));
    const cm = all.find((d) => d.kind === 'ConfigMap' && d.metadata.name === vols.config.configMap.name)!;
    const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-k8s-'));
    writeFileSync(join(dir, 'config.yaml'), cm.data['config.yaml'], { mode: 0o600 });
    const cfg = loadConfig(join(dir, 'config.yaml'), {});
    assert.equal(cfg.metrics.port, c.ports[0].containerPort, 'the probe port is the metrics port');
    assert.equal(cfg.metrics.host, '0.0.0.0', 'reachable by the kubelet');
    assert.equal(pod.serviceAccountName, all.find((d) => d.kind === 'ServiceAccount')!.metadata.name);
  });
}

test('the example Secret holds values the config loader accepts as environment overrides', () => {
  const s = docs('deploy/kubernetes/secret.example.yaml')[0]!;
  const env = { EBPF_SENSOR_KAFKA__BROKERS: s.stringData['kafka-brokers'], EBPF_SENSOR_KAFKA__SASL: s.stringData['kafka-sasl'], EBPF_SENSOR_ELASTICSEARCH__NODE: s.stringData['elasticsearch-node'], EBPF_SENSOR_ELASTICSEARCH__AUTH: s.stringData['elasticsearch-auth'] };
  const cfg = loadConfig(undefined, env);
  assert.deepEqual(cfg.kafka.brokers, ['kafka-0.kafka:9093']);
  assert.equal(cfg.kafka.sasl?.mechanism, 'scram-sha-512');
});

// helm itself: the official release binaries of helm 3 and helm 4, which scripts/setup.sh
// --with-test-deps fetches (pinned by sha256) into the cache; $HELM adds another one.
const HELM_CACHE = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'ebpf-sensor/helm');
const HELMS: Array<[string, string]> = [
  ...['3.12.1', '4.1.4'].map((v): [string, string] => [`helm ${v}`, join(HELM_CACHE, v, 'helm')]),
  ...(process.env.HELM ? [[`$HELM (${process.env.HELM})`, process.env.HELM] as [string, string]] : []),
];
const CHART = join(packageRoot, 'deploy/helm/ebpf-sensor');
const FIXTURE = 'test/fixtures/helm/ebpf-sensor-default.yaml';

function helm(bin: string, ...args: string[]): string {
  assert.ok(existsSync(bin), `${bin} missing: run sh scripts/setup.sh --with-test-deps (docs/packaging.md)`);
  const r = spawnSync(bin, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${bin} ${args.join(' ')}:\n${r.error ?? ''}${r.stderr}`);
  return r.stdout;
}
function parsed(text: string): Obj[] {
  return parseAllDocuments(text).map((d) => d.toJS() as Obj | null).filter((d): d is Obj => d !== null);
}

for (const [name, bin] of HELMS) {
  test(`${name}: lint --strict passes and template with default values gives the committed rendering`, () => {
    helm(bin, 'lint', '--strict', CHART);
    const out = helm(bin, 'template', 'ebpf-sensor', CHART);
    assert.deepEqual(parsed(out), docs(FIXTURE), `regenerate: ${bin} template ebpf-sensor deploy/helm/ebpf-sensor > ${FIXTURE}`);
  });

  test(`${name}: template with other values renders objects the ${K8S} schemas accept, with those values`, () => {
    const out = helm(bin, 'template', 'sec', CHART, '--namespace', 'security',
      '--set', 'image.repository=registry.example/ebpf-sensor', '--set', 'image.tag=0.1.0-rc1',
      '--set', 'credentials.secretName=siem-credentials', '--set', 'metrics.port=9555', '--set', 'metrics.annotations=false',
      '--set', 'resources.limits.memory=2Gi', '--set-string', 'nodeSelector.kubernetes\\.io/os=linux',
      '--set', 'config.output.events=all');
    const all = parsed(out);
    assert.deepEqual(all.flatMap(problems), []);
    const ds = all.find((d) => d.kind === 'DaemonSet')!;
    const pod = ds.spec.template.spec;
    const c = pod.containers[0];
    assert.equal(ds.metadata.name, 'sec');
    assert.equal(c.image, 'registry.example/ebpf-sensor:0.1.0-rc1');
    assert.ok(c.env.filter((e: Obj) => e.valueFrom?.secretKeyRef).every((e: Obj) => e.valueFrom.secretKeyRef.name === 'siem-credentials'));
    assert.equal(c.ports[0].containerPort, 9555);
    assert.equal(ds.spec.template.metadata.annotations['prometheus.io/scrape'], undefined);
    assert.equal(c.resources.limits.memory, '2Gi');
    assert.deepEqual(pod.nodeSelector, { 'kubernetes.io/os': 'linux' });
    // The sensor in the pod listens where the probes look.
    const cm = all.find((d) => d.kind === 'ConfigMap')!;
    const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-k8s-'));
    writeFileSync(join(dir, 'config.yaml'), cm.data['config.yaml'], { mode: 0o600 });
    const cfg = loadConfig(join(dir, 'config.yaml'), {});
    assert.equal(cfg.metrics.port, 9555, 'metrics.port reaches the sensor config');
    assert.equal(cfg.output.events, 'all');
    assert.equal(cfg.kubernetes.podLabels, false, 'no pod labels unless asked');
    assert.ok(!all.some((d) => d.kind.startsWith('ClusterRole')), 'no RBAC unless asked');
    assert.equal(pod.automountServiceAccountToken, false, 'no token mounted unless asked');
  });

  test(`${name}: podLabels.enabled adds the RBAC it needs (get/list pods, nothing else), the token, the node name and kubernetes.podLabels`, () => {
    const all = parsed(helm(bin, 'template', 'sec', CHART, '--namespace', 'security', '--set', 'podLabels.enabled=true'));
    assert.deepEqual(all.flatMap(problems), [], 'ClusterRole and ClusterRoleBinding validate against the 1.27 rbac.authorization.k8s.io/v1 schemas too');
    const role = all.find((d) => d.kind === 'ClusterRole')!;
    const binding = all.find((d) => d.kind === 'ClusterRoleBinding')!;
    assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }]);
    assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
    const sa = all.find((d) => d.kind === 'ServiceAccount')!;
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: 'security' }]);
    assert.equal(sa.automountServiceAccountToken, true);
    const pod = all.find((d) => d.kind === 'DaemonSet')!.spec.template.spec;
    assert.equal(pod.serviceAccountName, sa.metadata.name);
    assert.equal(pod.automountServiceAccountToken, true, 'the token and CA the client reads');
    assert.deepEqual(pod.containers[0].env.find((e: Obj) => e.name === 'NODE_NAME'), { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    const cm = all.find((d) => d.kind === 'ConfigMap')!;
    const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-k8s-'));
    writeFileSync(join(dir, 'config.yaml'), cm.data['config.yaml'], { mode: 0o600 });
    const cfg = loadConfig(join(dir, 'config.yaml'), {});
    assert.equal(cfg.kubernetes.podLabels, true);
    assert.equal(cfg.kubernetes.serviceAccountDir, '/var/run/secrets/kubernetes.io/serviceaccount', 'where Kubernetes mounts the token');
  });
}
