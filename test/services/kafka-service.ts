/**
 * Apache Kafka for the integration tests: one combined broker/controller in
 * KRaft mode on 127.0.0.1, run from the `org.apache.kafka:kafka_2.13` jars
 * (fetched with Maven) with Kafka's own classes: `kafka.tools.StorageTool
 * format`, then `kafka.Kafka server.properties`.
 *
 * Version: 4.2.2. kafkajs 2.2.4 negotiates every API it implements inside the
 * ranges Kafka 4.x still serves (KIP-896 removed only older versions); see
 * docs/test-services.md for what was tried.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { SensorError } from '../../src/errors.js';
import { findJdk } from './jdk.js';
import { resolveClasspath, type MavenDependency } from './maven.js';
import type { LaunchSpec } from './process-control.js';
import { serviceRecord, type ServiceRecord } from './state.js';

/** The Kafka version the harness runs (EBPF_SENSOR_TEST_KAFKA_VERSION overrides). */
export const DEFAULT_KAFKA_VERSION = '4.2.2';

/**
 * The jars to run Kafka `version`: kafka_2.13 and what it depends on, plus an
 * SLF4J binding (the distribution tarball ships one; the Maven artifact does
 * not): reload4j for 3.x, Log4j 2 for 4.x. The binding brings Log4j itself:
 * 4.0's POM does not list it at run time (4.1 to 4.4 use the same 2.24.3).
 */
export function kafkaDependencies(version: string): MavenDependency[] {
  const major = Number(version.split('.')[0]);
  const binding: MavenDependency =
    major >= 4
      ? {
          groupId: 'org.apache.logging.log4j',
          artifactId: 'log4j-slf4j-impl',
          version: '2.24.3',
          exclusions: ['org.slf4j:slf4j-api'],
        }
      : { groupId: 'org.slf4j', artifactId: 'slf4j-reload4j', version: '1.7.36', exclusions: ['org.slf4j:slf4j-api'] };
  return [{ groupId: 'org.apache.kafka', artifactId: 'kafka_2.13', version }, binding];
}

export interface KafkaPrepareOptions {
  name: string;
  version: string;
  /** The service's own (empty) temporary directory. */
  dir: string;
  port: number;
  controllerPort: number;
}

/** Fetches (or finds cached) the jars of Kafka `version`. */
export async function fetchKafka(version: string): Promise<{ jars: string[]; fetched: boolean }> {
  return resolveClasspath(`kafka-${version}`, kafkaDependencies(version));
}

/** The broker configuration: a single KRaft node whose internal topics fit one broker. */
export function kafkaProperties(o: { port: number; controllerPort: number; dataDir: string }): string {
  const props: Record<string, string | number> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${o.controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${o.port}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': o.dataDir,
    'num.partitions': 1,
    'auto.create.topics.enable': 'true',
    'offsets.topic.replication.factor': 1,
    // One partition instead of 50: the first consumer group is ready at once.
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0,
  };
  return `# Written by test/services/kafka-service.ts\n${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

const LOG4J2 = `status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.state.name = state.change.logger
logger.state.level = WARN
`;

const LOG4J1 = `log4j.rootLogger=INFO, out
log4j.appender.out=org.apache.log4j.ConsoleAppender
log4j.appender.out.layout=org.apache.log4j.PatternLayout
log4j.appender.out.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.state.change.logger=WARN
`;

async function runToCompletion(spec: LaunchSpec & { what: string }): Promise<void> {
  let out = '';
  const code = await new Promise<number | null>((resolve, reject) => {
    const p = spawn(spec.command, spec.args, { cwd: spec.cwd, env: spec.env, stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', resolve);
  });
  writeFileSync(spec.logFile, out);
  if (code !== 0) throw new SensorError('ESENSOR_SERVICE', `${spec.what} failed (exit ${code}):\n${out.split('\n').slice(-30).join('\n')}`);
}

/**
 * Writes the configuration into `dir`, formats the log directory with a new
 * cluster id and returns the record (not started yet).
 */
export async function prepareKafka(o: KafkaPrepareOptions, jars: string[]): Promise<Omit<ServiceRecord, 'timings'>> {
  const jdk = findJdk(17, Number.MAX_SAFE_INTEGER, `Kafka ${o.version}`);
  const dataDir = join(o.dir, 'data');
  const logsDir = join(o.dir, 'logs');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(logsDir, { recursive: true });
  const props = join(o.dir, 'server.properties');
  writeFileSync(props, kafkaProperties({ port: o.port, controllerPort: o.controllerPort, dataDir }));
  writeFileSync(join(o.dir, 'log4j2.properties'), LOG4J2);
  writeFileSync(join(o.dir, 'log4j.properties'), LOG4J1);
  const env = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: 'C.UTF-8',
    JAVA_HOME: jdk.home,
    // The classpath goes through the environment: ps stays readable.
    CLASSPATH: jars.join(':'),
  };
  const jvm = [
    '-Xms256m',
    '-Xmx768m',
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    `-Dkafka.logs.dir=${logsDir}`,
    `-Dlog4j2.configurationFile=${join(o.dir, 'log4j2.properties')}`,
    `-Dlog4j.configuration=file:${join(o.dir, 'log4j.properties')}`,
  ];
  // Kafka wants a 16-byte cluster id in URL-safe base64 without padding.
  const clusterId = randomBytes(16).toString('base64url');
  await runToCompletion({
    what: `formatting Kafka ${o.version} storage`,
    command: jdk.java,
    args: [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props],
    env,
    cwd: o.dir,
    logFile: join(o.dir, 'format.log'),
  });
  const logFile = join(o.dir, 'kafka.log');
  return serviceRecord({
    name: o.name,
    kind: 'kafka',
    version: o.version,
    port: o.port,
    address: `127.0.0.1:${o.port}`,
    otherPorts: { controller: o.controllerPort },
    dir: o.dir,
    dataDir,
    logFile,
    moreLogs: [join(o.dir, 'format.log')],
    jdk,
    launch: { command: jdk.java, args: [...jvm, 'kafka.Kafka', props], env, cwd: o.dir, logFile },
  });
}

/** One readiness probe: a metadata request (kafkajs describeCluster) must list the broker. */
export async function kafkaAnswers(address: string): Promise<void> {
  const kafka = new Kafka({
    clientId: 'ebpf-sensor-test-services',
    brokers: [address],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    requestTimeout: 5000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error('metadata lists no broker yet');
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
