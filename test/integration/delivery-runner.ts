/**
 * The sensor side of the delivery integration tests and the delivery
 * benchmark, as a child process the test can SIGKILL: the config file loaded
 * by the sensor's loader, the journal and every configured sink built by
 * `Outputs` (pipeline/outputs.ts), the real Pipeline (enrich → classify →
 * journal, delivery gaps → loss events) and the metrics/health endpoint —
 * exactly as `ebpf-sensor run` wires them — with a generated source instead
 * of the kernel: realistic events of every kind, decoded from kernel records
 * built as the BPF side lays them out (test/helpers/record-builder.ts), some
 * of them alerts.
 *
 *   node dist/test/integration/delivery-runner.js CONFIG RUN_ID
 *
 * Driven over the IPC channel (child_process.fork):
 *   → { cmd: 'append', from, count }   events from..from+count-1 (ids RUN_ID-i)
 *   ← { appended: { from, count }, durable }   once all of them are fsync'ed
 *   → { cmd: 'stop' }   clean stop (bounded drain), exit 0
 *   ← { ready: { metricsUrl, pid } }   at start
 * With RUNNER_RATE=N (events/s), RUNNER_TOTAL (and RUNNER_FROM) it also
 * appends on its own at that rate (the benchmark): ← { pacing: { t0, rate,
 * from } } when it begins, ← { generated: { count, ms }, durable } at the end.
 */
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { Outputs, loadConfiguredSinks } from '../../src/pipeline/outputs.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Enricher } from '../../src/enrich/enrich.js';
import { SensorMetrics } from '../../src/telemetry/metrics.js';
import { startMetricsServer } from '../../src/telemetry/http.js';
import { decodeRecord } from '../../src/decode/decode.js';
import type { SensorEvent, Verdict } from '../../src/model/event.js';
import type { Source, SourceBatch } from '../../src/sources/source.js';
import { buildRecord } from '../helpers/record-builder.js';
import { AGENT, HOST, MATCH_CRITICAL, MATCH_HIGH, decodeContext, enrichLike, recordSpecs } from '../helpers/normalize-corpus.js';

/** Event templates: every kind, success and failure, decoded by the real decoder. */
function templates(): SensorEvent[] {
  const ctx = decodeContext();
  const out: SensorEvent[] = [];
  let i = 0;
  for (const { spec } of recordSpecs()) {
    for (const ret of [spec.ret ?? 0, -13]) {
      for (const pid of [4242, 1777, 31337]) {
        const rec = buildRecord({ ...spec, ret, pid, tid: pid, tsNs: 5_000_000_000n + BigInt(i) * 1_000_123n });
        out.push(enrichLike(decodeRecord(rec, 0, rec.length, ctx), i++));
      }
    }
  }
  return out;
}

const SUSPICIOUS_KINDS = new Set(['module_load', 'ptrace', 'bpf', 'capset', 'tamper', 'setns', 'memfd_create']);

/** Deterministic verdicts: kernel-level kinds and writes to credential files are alerts (about 3 in 10). */
const testClassifier = {
  classify(ev: SensorEvent): Verdict {
    if (SUSPICIOUS_KINDS.has(ev.ebpf.kind)) return { classification: 'suspicious', matches: [{ ...MATCH_CRITICAL, tags: [...MATCH_CRITICAL.tags] }] };
    if (ev.ebpf.kind === 'open' && ev.file?.path.startsWith('/etc/') && ev.ebpf.open?.intent.includes('write')) {
      return { classification: 'suspicious', matches: [{ ...MATCH_HIGH, tags: [...MATCH_HIGH.tags] }] };
    }
    return { classification: 'normal', matches: [] };
  },
};

class GeneratedSource implements Source {
  readonly name = 'generated';
  private cb: ((b: SourceBatch) => void) | undefined;
  private readonly pool = templates();
  constructor(private readonly runId: string) {}
  async start(onBatch: (b: SourceBatch) => void): Promise<void> {
    this.cb = onBatch;
  }
  async stop(): Promise<void> {
    this.cb = undefined;
  }
  /** Events from..from+count-1, in batches as the kernel reader would hand them over. */
  emit(from: number, count: number): void {
    const now = Date.now();
    for (let b = from; b < from + count; b += 500) {
      const events: SensorEvent[] = [];
      const end = Math.min(from + count, b + 500);
      for (let i = b; i < end; i++) {
        const ev = structuredClone(this.pool[i % this.pool.length]!);
        ev.event.id = `${this.runId}-${i}`;
        ev.event.sequence = i;
        // "Now", so the benchmark can measure appended → visible latency.
        ev['@timestamp'] = new Date(now).toISOString();
        events.push(ev);
      }
      this.cb?.({ kind: 'events', events });
    }
  }
}

async function main(): Promise<void> {
  const [configFile, runId] = process.argv.slice(2);
  if (!configFile || !runId) throw new Error('usage: delivery-runner CONFIG RUN_ID');
  const cfg = loadConfig(configFile);
  const log = createLogger({ level: cfg.log.level, pretty: false });
  await loadConfiguredSinks(cfg);
  const outputs = Outputs.open({ config: cfg, host: HOST, agent: AGENT, log: log.child({ component: 'outputs' }) });
  const source = new GeneratedSource(runId);
  const pipeline = new Pipeline({
    source,
    decode: { bootToRealtimeNs: 0n, bootIdPrefix: 'runner00', sequence: 0 },
    enricher: new Enricher({ hostId: HOST.id, seedFromProc: false, resolveContainers: false, resolveNames: false }),
    classifier: testClassifier,
    output: outputs,
    log: log.child({ component: 'pipeline' }),
    host: HOST,
    events: cfg.telemetry.events,
  });
  outputs.start((loss) => pipeline.reportDeliveryLoss(loss));
  await pipeline.start();
  const metrics = new SensorMetrics({ version: 'runner', pipeline: () => pipeline.stats, outputs: () => outputs.stats() });
  const server = await startMetricsServer({ host: cfg.metrics.host, port: cfg.metrics.port, metrics, log: log.child({ component: 'metrics' }) });
  const send = (m: unknown): void => {
    process.send?.(m);
  };
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await pipeline.stop();
    await server.close();
    process.disconnect?.();
    process.exit(0);
  };
  process.on('message', (m: { cmd: string; from?: number; count?: number }) => {
    if (m.cmd === 'append') {
      source.emit(m.from!, m.count!);
      void outputs.journal.sync().then((durable) => send({ appended: { from: m.from, count: m.count }, durable }));
    } else if (m.cmd === 'stop') void stop();
  });
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.on('disconnect', () => void stop());

  const rate = Number(process.env.RUNNER_RATE ?? 0);
  const total = Number(process.env.RUNNER_TOTAL ?? 0);
  if (rate > 0 && total > 0) {
    // Paced generation in 10 ms steps (the kernel reader's timer).
    let next = Number(process.env.RUNNER_FROM ?? 0);
    const end = next + total;
    const t0 = Date.now();
    const start = next;
    send({ pacing: { t0, rate, from: start } });
    const tick = setInterval(() => {
      // At most 5000 per tick: a flat-out generator must not build its whole run in one go.
      const due = Math.min(end, next + 5000, start + Math.floor(((Date.now() - t0) / 1000) * rate));
      if (due > next) {
        source.emit(next, due - next);
        next = due;
      }
      if (next >= end) {
        clearInterval(tick);
        void outputs.journal.sync().then((durable) => send({ generated: { from: start, count: total, ms: Date.now() - t0 }, durable }));
      }
    }, 10);
  }
  send({ ready: { metricsUrl: server.url, pid: process.pid } });
}

main().catch((e: unknown) => {
  process.stderr.write(`delivery-runner: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
