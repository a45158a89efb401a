/**
 * `ebpf-sensor run`: the live sensor.
 *
 * Takes: the command's arguments (RunArgs) and the configuration file.
 * Gives: a running sensor, built in order: config, rules (reloader), the
 * kernel source with the filters the rules need, outputs (journal and sinks),
 * the pipeline, metrics; SIGINT/SIGTERM stop it, SIGHUP reloads the rules.
 */
import { SensorError } from '../errors.js';
import { readSafeFile, loadConfig, type SensorConfig } from '../config/config.js';
import { setInputLimits } from '../model/limits.js';
import { createLogger } from '../telemetry/logger.js';
import { KernelSource } from '../sources/kernel/kernel-source.js';
import { Enricher } from '../enrich/enrich.js';
import { RuleReloader } from '../rules/reloader.js';
import { ProcessKiller } from '../rules/killer.js';
import { kernelNeeds, kernelKillRules } from '../rules/kernel-needs.js';
import { kernelFilter } from '../rules/kernel-filter.js';
import type { RuleEngine } from '../rules/engine.js';
import type { Killer } from '../rules/killer.js';
import { PACKAGE_ROOT } from '../rules/source.js';
import { resolve as resolvePath } from 'node:path';
import { Pipeline } from '../pipeline/pipeline.js';
import { collectHostInfo, agentInfo } from '../pipeline/host-info.js';
import { resolveHostRoot } from '../pipeline/host-root.js';
import { Outputs, loadConfiguredSinks } from '../pipeline/outputs.js';
import { startMetricsServer, type MetricsServer } from '../telemetry/http.js';
import { RecordingEnricher } from '../enrich/recording-enricher.js';
import { PodApiClient, podApiOptions } from '../enrich/pod-api.js';
import { CaptureWriter } from '../sources/replay/capture-writer.js';
import { SENSOR_VERSION } from '../pipeline/version.js';

export interface RunArgs {
  config?: string | undefined;
  output?: string | undefined;
  format?: string | undefined;
  events?: string | undefined;
  duration?: string | undefined;
  'log-level'?: string | undefined;
  rules?: string[] | undefined;
  'no-bundled-rules'?: boolean | undefined;
  capture?: string | undefined;
  'host-root'?: string | undefined;
}

/** Command-line options override the config file. */
function mergeArgs(cfg: Readonly<SensorConfig>, a: RunArgs): SensorConfig {
  const c = structuredClone(cfg) as SensorConfig;
  if (a.output !== undefined) {
    if (a.output !== 'stdout' && !a.output.startsWith('file:')) {
      throw new SensorError('ESENSOR_USAGE', `--output must be stdout or file:PATH, got "${a.output}"`, { field: 'output.target' });
    }
    c.output.target = a.output;
    c.output.enabled = true;
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
  // --rules adds to the bundled rules (after rules.paths); --no-bundled-rules replaces them.
  if (a.rules !== undefined) c.rules.paths = [...c.rules.paths, ...a.rules];
  if (a['no-bundled-rules']) c.rules.bundled = false;
  if (a['host-root'] !== undefined) {
    if (!a['host-root'].startsWith('/')) throw new SensorError('ESENSOR_USAGE', `--host-root must be an absolute path, got "${a['host-root']}"`);
    c.host.root = a['host-root'];
  }
  return c;
}

export async function runCommand(args: RunArgs): Promise<number> {
  const cfg = mergeArgs(loadConfig(args.config), args);
  setInputLimits({ conditionDepth: cfg.rules.maxNesting }, { conditionDepth: 'rules.maxNesting' });
  let duration: number | undefined;
  if (args.duration !== undefined) {
    duration = Number(args.duration);
    if (!Number.isFinite(duration) || duration <= 0) throw new SensorError('ESENSOR_USAGE', `--duration must be a positive number of seconds`);
  }
  const log = createLogger({ level: cfg.log.level, ...(cfg.log.pretty !== undefined ? { pretty: cfg.log.pretty } : {}) });
  // Container mode: the host's users, groups and identity come from its files (host-root.ts).
  const hostRoot = resolveHostRoot(cfg.host.root);
  const host = collectHostInfo(cfg.host.name, hostRoot);
  const agent = agentInfo(host);
  KernelSource.checkNative();
  // Rules first: a broken ruleset stops the start before any BPF is loaded.
  let pipeline: Pipeline | undefined;
  let source: KernelSource | undefined;
  const rulesLog = log.child({ component: 'rules' });
  const userKiller = new ProcessKiller({
    onKill: (r, ev) =>
      rulesLog.warn({ kill: r, process: ev.process.executable, eventId: ev.event.id }, 'kill: pid %d %s after %s ms', r.pid, r.result, r.delay_ms ?? '-'),
  });
  // Processes the kernel already killed (bpf_send_signal, before the syscall
  // returned) are reported as such; every other kill is done from user space.
  const killer: Killer & { stats: ProcessKiller['stats'] } = {
    stats: userKiller.stats,
    kill: (ev) => {
      if (ev.ebpf.kernel_kill) {
        const r = { pid: ev.process.pid, signal: 'SIGKILL' as const, result: 'killed' as const, by: 'kernel' as const, delay_ms: 0 };
        rulesLog.warn({ kill: r, rule: ev.ebpf.kernel_kill.rule, process: ev.process.executable, eventId: ev.event.id }, 'kill: pid %d killed in the kernel', r.pid);
        return r;
      }
      return userKiller.kill(ev);
    },
  };
  const decodeCtx = { bootToRealtimeNs: 0n, bootIdPrefix: host.boot_id.replace(/-/g, '').slice(0, 8), sequence: 0, killRules: [] as readonly string[] };
  const installKernelRules = (engine: RuleEngine): void => {
    if (!source) return;
    source.applyFilter(kernelFilter(kernelNeeds(engine, 'alerts'), cfg, engine));
    decodeCtx.killRules = source.setKillRules(kernelKillRules(engine));
  };
  const runtimeLists = { sensor_pids: [String(process.pid)], sensor_paths: sensorPaths(args.config, cfg.rules.paths) };
  const reloader = new RuleReloader({
    sources: {
      bundled: cfg.rules.bundled,
      paths: cfg.rules.paths,
      read: readSafeFile,
      lists: runtimeLists,
    },
    watch: cfg.rules.watch,
    killer,
    log: rulesLog,
    onLoad: (engine, previous) => {
      if (source && pipeline) {
        try {
          installKernelRules(engine);
        } catch (e) {
          // Kernel and user space must run the same ruleset: put the previous one back in the
          // kernel (a half-applied update may have changed part of it) and refuse the new one.
          if (previous) {
            try {
              installKernelRules(previous);
            } catch (e2) {
              rulesLog.error({ err: e2 }, 'cannot restore the previous kernel filter');
            }
          }
          throw new SensorError('ESENSOR_BPF_MAP', `the kernel filter update failed (${(e as Error).message}); the new ruleset is refused`, { cause: e, retriable: true });
        }
      }
      pipeline?.setClassifier(engine);
    },
  });
  const engine = reloader.start();
  // Installed before the (slow) BPF load: SIGHUP's default action would end the process.
  const onHup = (): void => void reloader.reload('SIGHUP');
  process.on('SIGHUP', onHup);
  source = new KernelSource(
    {
      ringBytes: cfg.kernel.ringBytes,
      chunkBytes: cfg.kernel.chunkBytes,
      chunks: cfg.kernel.chunks,
      pollMs: cfg.kernel.pollMs,
      wakeupBytes: cfg.kernel.wakeupBytes,
      ignorePids: cfg.kernel.ignore.pids,
      ignoreCgroups: cfg.kernel.ignore.cgroups,
      reportSelf: !cfg.kernel.ignore.self,
      provenanceLoopback: cfg.kernel.provenance.loopbackIsRemote,
      envVars: cfg.kernel.envVars,
    },
    kernelFilter(kernelNeeds(engine, 'alerts'), cfg, engine),
  );
  const src = source;
  // The journal and every configured sink (stdout/file, Kafka, Elasticsearch, syslog), each fed by its own delivery.
  await loadConfiguredSinks(cfg);
  const outputs = Outputs.open({ config: cfg, host, agent, log: log.child({ component: 'outputs' }) });
  decodeCtx.bootToRealtimeNs = src.bootToRealtimeNs();
  // Pod labels from the API server, when configured (kubernetes.podLabels; off by default).
  const podApiOpts = podApiOptions(cfg.kubernetes, process.env, host.hostname);
  const podApi = podApiOpts ? new PodApiClient({ ...podApiOpts, log: log.child({ component: 'pod-api' }) }) : undefined;
  if (podApiOpts) log.info({ apiServer: podApiOpts.url, node: podApiOpts.nodeName }, 'pod labels from the API server, pods of node %s', podApiOpts.nodeName);
  const enricherOptions = { hostId: host.id, seedFromProc: true, resolveContainers: true, resolveNames: true, hostRoot, ...(podApi ? { podApi } : {}) };
  // --capture: every event the pipeline sees, enriched, into a capture file for replay (docs/replay.md).
  const capture =
    args.capture === undefined
      ? undefined
      : CaptureWriter.create(args.capture, {
          header: { sensor: { version: SENSOR_VERSION }, host, agent, source: { kind: 'live' }, lists: runtimeLists },
          flushMs: 2000,
          onError: (e) => log.error({ err: e }, 'capture %s failed: recording stopped', args.capture),
        });
  const enricher = capture ? new RecordingEnricher(enricherOptions, capture) : new Enricher(enricherOptions);
  pipeline = new Pipeline({
    source: src,
    decode: decodeCtx,
    enricher,
    classifier: engine,
    output: outputs,
    log: log.child({ component: 'pipeline' }),
    host,
    events: cfg.telemetry.events,
    lossProbe: () => {
      const c = src.counters();
      const r = src.ringStats();
      return { kernel: c.lost, reader: r.stalls, perCpu: c.lostPerCpu };
    },
    lossReportSeconds: cfg.kernel.lossReportSeconds,
  });

  const pl = pipeline;
  outputs.start((loss) => pl.reportDeliveryLoss(loss));
  try {
    await pl.start();
    decodeCtx.killRules = src.setKillRules(kernelKillRules(engine));
  } catch (e) {
    await outputs.close(0).catch(() => undefined);
    await capture?.close().catch(() => undefined);
    throw e;
  }
  let metricsServer: MetricsServer | undefined;
  if (cfg.metrics.enabled) {
    // prom-client (≈ 10 MB of RSS) only when metrics are on (test/unit/issue-14-lazy-modules.test.ts).
    const { SensorMetrics } = await import('../telemetry/metrics.js');
    const metrics = new SensorMetrics({
      version: agent.version,
      pipeline: () => pl.stats,
      kernel: () => ({ counters: src.counters(), ring: src.ringStats() }),
      outputs: () => outputs.stats(),
      ...(podApi ? { podApi: () => podApi.stats } : {}),
    });
    try {
      metricsServer = await startMetricsServer({ host: cfg.metrics.host, port: cfg.metrics.port, metrics, log: log.child({ component: 'metrics' }) });
    } catch (e) {
      // Detection goes on without the endpoint; the error says how to fix it.
      log.error({ err: e }, 'metrics and health endpoint not started');
    }
  }
  // Handlers before the "running" line: whoever waits for it may signal at once.
  const done = new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: string): void => {
      if (stopping) return;
      stopping = true;
      log.info({ reason: why }, 'stopping');
      process.off('SIGHUP', onHup);
      reloader.close();
      pl
        .stop()
        .then(async () => {
          await metricsServer?.close();
          if (capture) {
            const c = await capture.close().catch((e: unknown) => (log.error({ err: e }, 'closing capture %s failed', capture.file), undefined));
            if (c) log.info({ capture: c }, 'capture %s: %d events', c.file, c.events);
          }
          log.info({ ...pl.stats, rules: reloader.stats, kills: killer.stats }, 'stopped: every program detached');
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
  log.info(
    {
      processes: enricher.seeded,
      sinks: outputs.names,
      journal: cfg.journal.dir,
      metrics: metricsServer?.url,
      kernel: src.preflightResult?.kernel,
      rules: engine.version,
      hostRoot,
    },
    'ebpf-sensor %s running',
    agent.version,
  );

  return await done;
}

/** The files the running sensor depends on (rule sensor_files_modified watches them). */
function sensorPaths(config: string | undefined, rulePaths: readonly string[]): string[] {
  const root = PACKAGE_ROOT.endsWith('/') ? PACKAGE_ROOT : `${PACKAGE_ROOT}/`;
  const out = ['dist/', 'rules/', 'schemas/', 'bpf/.output/', 'native/build/', 'native/prebuilds/', 'bin/'].map((d) => root + d);
  if (config !== undefined) out.push(resolvePath(config));
  for (const p of rulePaths) out.push(resolvePath(p));
  return out;
}
