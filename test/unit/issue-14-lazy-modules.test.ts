/**
 * issue-14 (memory): a file-output sensor loads no client library it does not
 * use. kafkajs, the Elasticsearch client, the OpenTelemetry exporter and
 * prom-client cost ≈ 10–40 MB of RSS each once loaded; they are loaded only
 * when the config enables their sink (or the metrics endpoint).
 *
 * Takes: the compiled CLI and outputs modules. Each case runs in a fresh node
 * process with a module-resolution hook that lists every package resolved,
 * so what an earlier test imported cannot hide a load.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const DIST_SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const LAZY = ['kafkajs', '@elastic/elasticsearch', '@opentelemetry/exporter-logs-otlp-proto', '@opentelemetry/sdk-logs', 'prom-client'];

// Runs `body` (an ES module's text) after installing a resolve hook; returns the bare package specifiers resolved.
function packagesLoadedBy(body: string, env: Record<string, string> = {}): string[] {
  const hook = `export async function resolve(s, c, next) { const r = await next(s, c); if (!s.startsWith('.') && !s.startsWith('node:') && !s.startsWith('file:') && !s.startsWith('/')) process.stdout.write('PKG ' + s + '\\n'); return r; }`;
  const script = `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
${body}`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: DIST_SRC,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return [...new Set(out.split('\n').filter((l) => l.startsWith('PKG ')).map((l) => l.slice(4)))];
}

const lazyIn = (pkgs: string[]): string[] => pkgs.filter((p) => LAZY.some((l) => p === l || p.startsWith(`${l}/`)));

test('issue-14: the CLI and a file-output sensor’s sinks load no Kafka, Elasticsearch, OTLP or Prometheus client', () => {
  const pkgs = packagesLoadedBy(
    `await import(${JSON.stringify(`${DIST_SRC}cli/main.js`)});
const { loadConfig } = await import(${JSON.stringify(`${DIST_SRC}config/config.js`)});
const { loadConfiguredSinks, buildSinks } = await import(${JSON.stringify(`${DIST_SRC}pipeline/outputs.js`)});
const cfg = loadConfig(undefined, { EBPF_SENSOR_OUTPUT__TARGET: 'file:/tmp/issue-14-never-written.ndjson', EBPF_SENSOR_METRICS__ENABLED: 'false' });
await loadConfiguredSinks(cfg);
const sinks = buildSinks(cfg, { name: 'h', hostname: 'h', id: 'x', boot_id: 'b', os: {}, architecture: 'x86_64' }, { name: 'a', type: 'ebpf-sensor', version: '0', id: 'x' });
if (sinks.length !== 1 || sinks[0].kind !== 'file') throw new Error('expected the file sink alone, got ' + sinks.map((s) => s.kind));
for (const s of sinks) await s.sink.close();`,
  );
  assert.ok(pkgs.includes('pino'), `the hook sees package loads (got ${pkgs.join(', ')})`);
  assert.deepEqual(lazyIn(pkgs), [], 'client libraries of sinks that are not configured');
});

test('issue-14: each sink’s client is loaded once its sink is configured', () => {
  const pkgs = packagesLoadedBy(
    `const { loadConfig } = await import(${JSON.stringify(`${DIST_SRC}config/config.js`)});
const { loadConfiguredSinks } = await import(${JSON.stringify(`${DIST_SRC}pipeline/outputs.js`)});
await loadConfiguredSinks(loadConfig(undefined, {
  EBPF_SENSOR_KAFKA__BROKERS: '["127.0.0.1:9"]',
  EBPF_SENSOR_ELASTICSEARCH__NODE: 'http://127.0.0.1:9',
  EBPF_SENSOR_OTLP__ENDPOINT: 'http://127.0.0.1:9',
}));
await import(${JSON.stringify(`${DIST_SRC}telemetry/metrics.js`)});`,
  );
  for (const p of ['kafkajs', '@elastic/elasticsearch', '@opentelemetry/exporter-logs-otlp-proto', 'prom-client']) assert.ok(pkgs.includes(p), `${p} loaded (got ${pkgs.join(', ')})`);
});
