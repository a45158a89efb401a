/**
 * Elasticsearch for the integration tests: a real node with its HTTP layer,
 * from the integration-test distribution Elastic publishes on Maven Central
 * (`org.elasticsearch.distribution.integ-test-zip:elasticsearch:<v>:zip`: the
 * real `bin/elasticsearch` without a bundled JDK). It runs on 127.0.0.1 as
 * one single-node cluster, security off, 512 MB heap, disk watermarks off, on
 * an installed JDK (21+ for 9.x, 17+ for 8.x), as an unprivileged user when
 * the harness is root (Elasticsearch refuses to run as root).
 *
 * The distribution is minimal: no `GET /`, no `_data_stream` management API,
 * no `wildcard` / `constant_keyword` / `match_only_text` / `scaled_float`
 * mappers (see docs/test-services.md).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SensorError } from '../../src/errors.js';
import { createElasticsearchClient } from '../../src/sinks/elasticsearch/es-client.js';
import { findJdk } from './jdk.js';
import { fetchArtifact } from './maven.js';
import { serviceRecord, type ServiceRecord } from './state.js';

/** Matches the client's major and minor (@elastic/elasticsearch 9.4.3). EBPF_SENSOR_TEST_ES_VERSION overrides. */
export const DEFAULT_ES_VERSION = '9.4.3';
/** The 8.x node the compatibility path is tested against. EBPF_SENSOR_TEST_ES8_VERSION overrides. */
export const DEFAULT_ES8_VERSION = '8.19.21';
/** The unprivileged user Elasticsearch runs as when the harness is root. */
export const ES_USER = 'ebpf-sensor-test';

export interface ElasticsearchPrepareOptions {
  name: string;
  version: string;
  dir: string;
  port: number;
  transportPort: number;
}

/** Fetches (or finds cached) the integration-test zip of `version`. */
export async function fetchElasticsearch(version: string, cwd: string): Promise<{ file: string; fetched: boolean }> {
  return fetchArtifact({ groupId: 'org.elasticsearch.distribution.integ-test-zip', artifactId: 'elasticsearch', version, type: 'zip' }, cwd);
}

/** Creates (once) the system user Elasticsearch runs as; returns its ids. */
export function ensureTestUser(): { uid: number; gid: number } {
  const ids = (): { uid: number; gid: number } | undefined => {
    const u = spawnSync('id', ['-u', ES_USER], { encoding: 'utf8' });
    const g = spawnSync('id', ['-g', ES_USER], { encoding: 'utf8' });
    return u.status === 0 && g.status === 0 ? { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) } : undefined;
  };
  const found = ids();
  if (found) return found;
  const r = spawnSync(
    'useradd',
    ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', ES_USER],
    { encoding: 'utf8' },
  );
  const made = ids();
  if (!made) {
    throw new SensorError('ESENSOR_SERVICE', `cannot create the user ${ES_USER} that Elasticsearch runs as: ${r.stderr || r.error?.message}`);
  }
  return made;
}

/** elasticsearch.yml for a single loopback node. */
export function elasticsearchYml(o: { name: string; port: number; transportPort: number; dataDir: string; logsDir: string }): string {
  const settings: Record<string, string | number | boolean> = {
    'cluster.name': `ebpf-sensor-test-${o.name}`,
    'node.name': o.name,
    'path.data': o.dataDir,
    'path.logs': o.logsDir,
    'network.host': '127.0.0.1',
    'http.port': o.port,
    'transport.port': o.transportPort,
    'discovery.type': 'single-node',
    'xpack.security.enabled': false,
    // Test machines may have little free disk: never block writes for it.
    'cluster.routing.allocation.disk.threshold_enabled': false,
    // Tests clean up with wildcards.
    'action.destructive_requires_name': false,
  };
  return `# Written by test/services/elasticsearch-service.ts\n${Object.entries(settings)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join('\n')}\n`;
}

/**
 * Unpacks the distribution into `dir`, writes its configuration and returns
 * the record (not started yet).
 */
export function prepareElasticsearch(o: ElasticsearchPrepareOptions, zip: string): Omit<ServiceRecord, 'timings'> {
  const major = Number(o.version.split('.')[0]);
  // 9.x needs JDK 21+; 8.x supports 17 to 24 and we take the oldest, as for the other servers.
  const jdk = major >= 9 ? findJdk(21, Number.MAX_SAFE_INTEGER, `Elasticsearch ${o.version}`) : findJdk(17, 24, `Elasticsearch ${o.version}`);
  const unzip = spawnSync('unzip', ['-q', '-o', zip, '-d', join(o.dir, 'dist')], { encoding: 'utf8' });
  if (unzip.status !== 0) {
    throw new SensorError(
      'ESENSOR_SERVICE',
      `cannot unpack ${zip}: ${unzip.error?.message ?? unzip.stderr} (unzip is installed by sh scripts/setup.sh --with-test-deps)`,
    );
  }
  const top = readdirSync(join(o.dir, 'dist')).find((e) => e.startsWith('elasticsearch-'));
  if (!top) throw new SensorError('ESENSOR_SERVICE', `${zip} holds no elasticsearch-* directory`);
  const home = join(o.dir, 'dist', top);
  const bin = join(home, 'bin', 'elasticsearch');
  if (!existsSync(bin)) throw new SensorError('ESENSOR_SERVICE', `${zip} has no bin/elasticsearch`);
  const conf = join(o.dir, 'config');
  cpSync(join(home, 'config'), conf, { recursive: true });
  const dataDir = join(o.dir, 'data');
  const logsDir = join(o.dir, 'logs');
  const tmpDir = join(o.dir, 'tmp');
  for (const d of [dataDir, logsDir, tmpDir]) mkdirSync(d, { recursive: true });
  writeFileSync(join(conf, 'elasticsearch.yml'), elasticsearchYml({ ...o, dataDir, logsDir }));
  let user: { uid: number; gid: number } | undefined;
  if (process.geteuid?.() === 0) {
    user = ensureTestUser();
    execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, o.dir]);
    chmodSync(o.dir, 0o755);
  }
  const logFile = join(o.dir, 'stdout.log');
  return serviceRecord({
    name: o.name,
    kind: 'elasticsearch',
    version: o.version,
    port: o.port,
    otherPorts: { transport: o.transportPort },
    dir: o.dir,
    dataDir,
    logFile,
    moreLogs: [join(logsDir, `ebpf-sensor-test-${o.name}.log`)],
    jdk,
    ...(user ? { runAs: ES_USER } : {}),
    launch: {
      command: bin,
      args: [],
      env: {
        PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        LANG: 'C.UTF-8',
        HOME: o.dir,
        ES_JAVA_HOME: jdk.home,
        ES_PATH_CONF: conf,
        ES_TMPDIR: tmpDir,
        ES_JAVA_OPTS: `-Xms512m -Xmx512m -XX:HeapDumpPath=${logsDir}`,
      },
      cwd: o.dir,
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
      logFile,
    },
  });
}

/** One readiness probe: version negotiation succeeds and cluster health is yellow or green. */
export async function elasticsearchAnswers(address: string): Promise<void> {
  const { client } = await createElasticsearchClient({ node: address, requestTimeout: 5000, maxRetries: 0 });
  try {
    const h = await client.cluster.health({ wait_for_status: 'yellow', timeout: '2s' });
    if (h.status !== 'yellow' && h.status !== 'green') throw new Error(`cluster health is ${h.status}`);
  } finally {
    await client.close();
  }
}
