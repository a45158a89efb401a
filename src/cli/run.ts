/**
 * `ebpf-sensor run`: the live sensor.
 */
import { SensorError } from '../errors.js';
import { loadConfig, type SensorConfig } from '../config/config.js';
import { createLogger } from '../telemetry/logger.js';
import { KernelSource } from '../sources/kernel/kernel-source.js';
import { loadBinding } from '../sources/kernel/binding.js';
import { Enricher } from '../enrich/enrich.js';
import { NullClassifier } from '../rules/classifier.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { collectHostInfo, agentInfo } from '../pipeline/host-info.js';
import { NdjsonSink } from '../sinks/ndjson-sink.js';
import { toEcs } from '../normalize/ecs/ecs.js';
import type { LineFormatter } from '../sinks/sink.js';
import type { AgentInfo, HostInfo } from '../model/event.js';

export interface RunArgs {
  config?: string | undefined;
  output?: string | undefined;
  format?: string | undefined;
  events?: string | undefined;
  duration?: string | undefined;
  'log-level'?: string | undefined;
}

/** Command-line options override the config file. */
function mergeArgs(cfg: Readonly<SensorConfig>, a: RunArgs): SensorConfig {
  const c = structuredClone(cfg) as SensorConfig;
  if (a.output !== undefined) {
    if (a.output !== 'stdout' && !a.output.startsWith('file:')) {
      throw new SensorError('ESENSOR_USAGE', `--output must be stdout or file:PATH, got "${a.output}"`, { field: 'output.target' });
    }
    c.output.target = a.output;
  }
  if (a.format !== undefined) {
    if (a.format !== 'ecs' && a.format !== 'cef') throw new SensorError('ESENSOR_USAGE', `--format must be ecs or cef, got "${a.format}"`);
    c.output.format = a.format;
  }
  if (a.events !== undefined) {
    if (a.events !== 'all' && a.events !== 'alerts') throw new SensorError('ESENSOR_USAGE', `--events must be all or alerts, got "${a.events}"`);
    c.telemetry.events = a.events;
  }
  if (a['log-level'] !== undefined) c.log.level = a['log-level'] as SensorConfig['log']['level'];
  return c;
}

export function formatterFor(format: 'ecs' | 'cef', host: HostInfo, agent: AgentInfo): LineFormatter {
  if (format === 'cef') {
    throw new SensorError('ESENSOR_USAGE', 'CEF output is not available in this build yet');
  }
  return (ce) => JSON.stringify(toEcs(ce, host, agent));
}

export async function runCommand(args: RunArgs): Promise<number> {
  const cfg = mergeArgs(loadConfig(args.config), args);
  let duration: number | undefined;
  if (args.duration !== undefined) {
    duration = Number(args.duration);
    if (!Number.isFinite(duration) || duration <= 0) throw new SensorError('ESENSOR_USAGE', `--duration must be a positive number of seconds`);
  }
  const log = createLogger({ level: cfg.log.level, ...(cfg.log.pretty !== undefined ? { pretty: cfg.log.pretty } : {}) });
  const host = collectHostInfo(cfg.host.name);
  const agent = agentInfo(host);
  const binding = loadBinding();
  const source = new KernelSource({
    ringBytes: cfg.kernel.ringBytes,
    chunkBytes: cfg.kernel.chunkBytes,
    chunks: cfg.kernel.chunks,
    pollMs: cfg.kernel.pollMs,
    wakeupBytes: cfg.kernel.wakeupBytes,
  });
  const target = cfg.output.target === 'stdout' ? 'stdout' : cfg.output.target.slice('file:'.length);
  const sink = new NdjsonSink({ target, format: formatterFor(cfg.output.format, host, agent) });
  const clocks = binding.clocks();
  const enricher = new Enricher({ hostId: host.id, seedFromProc: true, resolveContainers: true, resolveNames: true });
  const pipeline = new Pipeline({
    source,
    decode: {
      bootToRealtimeNs: clocks.realtime - clocks.boottime,
      bootIdPrefix: host.boot_id.replace(/-/g, '').slice(0, 8),
      sequence: 0,
    },
    enricher,
    classifier: new NullClassifier(),
    sinks: [sink],
    log: log.child({ component: 'pipeline' }),
    host,
    events: cfg.telemetry.events,
    lossProbe: () => {
      const c = source.counters();
      const r = source.ringStats();
      return { kernel: c.lost, reader: r.stalls, perCpu: c.lostPerCpu };
    },
    lossReportSeconds: cfg.kernel.lossReportSeconds,
  });

  await pipeline.start();
  log.info(
    { processes: enricher.seeded, output: cfg.output.target, format: cfg.output.format, kernel: source.preflightResult?.kernel },
    'ebpf-sensor %s running',
    agent.version,
  );

  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: string): void => {
      if (stopping) return;
      stopping = true;
      log.info({ reason: why }, 'stopping');
      pipeline
        .stop()
        .then(() => {
          log.info({ ...pipeline.stats }, 'stopped: every program detached');
          resolve(0);
        })
        .catch((e: unknown) => {
          log.error({ err: e }, 'error while stopping');
          resolve(1);
        });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    if (duration !== undefined) setTimeout(() => stop('duration elapsed'), duration * 1000).unref();
  });
}
