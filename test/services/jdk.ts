/**
 * Finds an installed JDK of a wanted major version. Kafka runs on 17+,
 * Elasticsearch 9.x needs 21+, Elasticsearch 8.x is happiest on 17. The
 * machines have Debian's OpenJDK 17 and Temurin 25 under /usr/lib/jvm; the
 * search does not rely on those names: it asks every candidate's `java
 * -version`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SensorError } from '../../src/errors.js';

export interface Jdk {
  home: string;
  java: string;
  major: number;
  version: string;
}

/** Parses the first line of `java -version` (`openjdk version "17.0.15" …`, `"1.8.0_392"`). */
export function parseJavaVersion(output: string): { major: number; version: string } | undefined {
  const m = /version "([^"]+)"/.exec(output);
  if (!m) return undefined;
  const version = m[1]!;
  const parts = version.split(/[.+_-]/);
  const major = parts[0] === '1' ? Number(parts[1]) : Number(parts[0]);
  return Number.isFinite(major) ? { major, version } : undefined;
}

function candidates(): string[] {
  const homes = new Set<string>();
  const add = (h: string | undefined): void => {
    if (!h) return;
    try {
      const real = realpathSync(h);
      if (existsSync(join(real, 'bin/java'))) homes.add(real);
    } catch {
      // not there: not a candidate
    }
  };
  add(process.env.EBPF_SENSOR_TEST_JAVA_HOME);
  add(process.env.JAVA_HOME);
  for (const root of ['/usr/lib/jvm', '/usr/local/lib/jvm', '/opt/java']) {
    if (!existsSync(root)) continue;
    for (const e of readdirSync(root).sort()) add(join(root, e));
  }
  try {
    const onPath = execFileSync('sh', ['-c', 'command -v java'], { encoding: 'utf8' }).trim();
    if (onPath) add(dirname(dirname(realpathSync(onPath))));
  } catch {
    // no java on PATH
  }
  return [...homes];
}

let cache: Jdk[] | undefined;

/** Every JDK found on this machine, lowest major first. */
export function installedJdks(): Jdk[] {
  if (cache) return cache;
  const out: Jdk[] = [];
  for (const home of candidates()) {
    const java = join(home, 'bin/java');
    // `java -version` prints on stderr.
    const r = spawnSync(java, ['-version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    const v = r.status === 0 ? parseJavaVersion(`${r.stderr}${r.stdout}`) : undefined;
    if (v) out.push({ home, java, ...v });
  }
  cache = out.sort((a, b) => a.major - b.major);
  return cache;
}

/**
 * The lowest-major JDK within [min, max]: the oldest JDK a server supports is
 * the one its release was tested on most. Throws ESENSOR_SERVICE naming what
 * was found when none fits.
 */
export function findJdk(min: number, max = Number.MAX_SAFE_INTEGER, forWhat = 'a test service'): Jdk {
  const all = installedJdks();
  const fit = all.find((j) => j.major >= min && j.major <= max);
  if (fit) return fit;
  const range = max === Number.MAX_SAFE_INTEGER ? `${min} or newer` : `${min} to ${max}`;
  const seen = all.length ? all.map((j) => `${j.home} (${j.version})`).join(', ') : 'none';
  throw new SensorError(
    'ESENSOR_SERVICE',
    `${forWhat} needs a JDK ${range}; found: ${seen}. Install one (Debian: openjdk-17-jdk-headless; JDK 21+: Temurin) or point EBPF_SENSOR_TEST_JAVA_HOME at it`,
  );
}
