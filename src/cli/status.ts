/**
 * `ebpf-sensor status`: what a running sensor reports on its health endpoint
 * (the same numbers as its Prometheus metrics): events and alerts, kernel
 * losses, the journal, and per sink the events in/out, cursor lag, retries,
 * losses and dead letters. Finds the sensor through the metrics section of
 * the config (or --url); says clearly when no sensor answers.
 */
import { parseArgs } from 'node:util';
import { SensorError } from '../errors.js';
import { loadConfig } from '../config/config.js';
import type { HealthReport } from '../telemetry/metrics.js';

export const STATUS_HELP = `Usage: ebpf-sensor status [options]

Shows what the running sensor reports on its health endpoint: events and
alerts, kernel losses, the journal, and for each sink the events in and out,
the cursor lag, retries, lost events and dead letters. Exit code 0 when the
sensor is healthy, 1 when it reports problems or cannot be reached.

Options:
  -c, --config FILE   the sensor's configuration (metrics.host and metrics.port)
      --url URL       the endpoint instead, e.g. http://127.0.0.1:9464
      --json          print the health document as JSON
      --timeout MS    how long to wait for an answer (default 3000)
  -h, --help          show this help
`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  url: { type: 'string' },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The endpoint of the sensor a config describes. */
export function statusUrl(configFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const cfg = loadConfig(configFile, env);
  if (!cfg.metrics.enabled) {
    throw new SensorError('ESENSOR_STATUS_UNAVAILABLE', `metrics are disabled in ${configFile ?? 'the configuration'} (metrics.enabled: false): the sensor has no status endpoint`, {
      field: 'metrics.enabled',
    });
  }
  if (cfg.metrics.port === 0) {
    throw new SensorError('ESENSOR_STATUS_UNAVAILABLE', 'metrics.port is 0 (any free port): pass the address the sensor logged with --url', { field: 'metrics.port' });
  }
  const host = cfg.metrics.host === '0.0.0.0' ? '127.0.0.1' : cfg.metrics.host === '::' ? '::1' : cfg.metrics.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${cfg.metrics.port}`;
}

/** GET /health of a sensor; ESENSOR_STATUS_UNAVAILABLE when nothing (or not a sensor) answers. */
export async function fetchHealth(base: string, timeoutMs = 3000): Promise<HealthReport> {
  const url = `${base.replace(/\/+$/, '')}/health`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
    const why = cause === 'ECONNREFUSED' ? 'connection refused' : cause === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : String(cause ?? (e as Error).message);
    throw new SensorError('ESENSOR_STATUS_UNAVAILABLE', `no ebpf-sensor answers on ${url} (${why}): is \`ebpf-sensor run\` running, with metrics enabled on this address?`, { cause: e });
  }
  const body = await res.text();
  let report: HealthReport;
  try {
    report = JSON.parse(body) as HealthReport;
  } catch {
    throw new SensorError('ESENSOR_STATUS_UNAVAILABLE', `${url} answered HTTP ${res.status} with something that is not an ebpf-sensor health document`);
  }
  if (!report || typeof report !== 'object' || !Array.isArray(report.sinks) || typeof report.status !== 'string') {
    throw new SensorError('ESENSOR_STATUS_UNAVAILABLE', `${url} answered HTTP ${res.status} with JSON that is not an ebpf-sensor health document`);
  }
  return report;
}

const n = (v: number | undefined): string => (v ?? 0).toLocaleString('en-US');

function bytes(v: number): string {
  if (v < 1024) return `${v} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let x = v;
  let i = -1;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x.toFixed(1)} ${units[i]}`;
}

function duration(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d}d ${h}h ${m}m` : h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
}

/** The health report as text, the way `status` prints it. */
export function formatStatus(r: HealthReport, url: string): string {
  const lines: string[] = [];
  lines.push(`ebpf-sensor ${r.version} (pid ${r.pid}) at ${url}: ${r.status.toUpperCase()}, up ${duration(r.uptimeSeconds)}, RSS ${bytes(r.rssBytes)}`);
  for (const why of r.reasons) lines.push(`  ! ${why}`);
  if (r.pipeline) {
    lines.push(`events     ${n(r.pipeline.events)} classified, ${n(r.pipeline.alerts)} alerts, ${n(r.pipeline.lossEvents)} loss reports, ${n(r.pipeline.decodeErrors)} decode errors`);
  }
  if (r.kernel) {
    lines.push(`kernel     ${n(r.kernel.events)} records, ${n(r.kernel.lost)} lost (ring full), ${n(r.kernel.readerStalls)} reader stalls, ${n(r.kernel.freeChunks)} free chunks`);
  }
  if (r.journal) {
    const j = r.journal;
    lines.push(
      `journal    ${bytes(j.bytes)} in ${j.segments} segments, positions ${n(j.firstPosition)}..${n(j.nextPosition)}, ` +
        `${n(j.deletedEvents)} deleted by retention, ${j.damagedRegions} damaged regions${j.appendLostEvents ? `, ${n(j.appendLostEvents)} NOT JOURNALED` : ''}  (${j.dir})`,
    );
  }
  if (!r.sinks.length) lines.push('sinks      none');
  else {
    const rows = [['sink', 'state', 'in', 'out', 'lag', 'lag s', 'retries', 'lost', 'dead letters']];
    for (const s of r.sinks) {
      rows.push([s.name, s.state, n(s.eventsIn), n(s.eventsOut), n(s.lagEvents), s.lagSeconds.toFixed(1), n(s.retries), n(s.lost.retention + s.lost.damaged), n(s.deadLetters)]);
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
    for (const row of rows) lines.push(`  ${row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')}`);
    for (const s of r.sinks) if (s.lastError && s.state === 'backoff') lines.push(`  ${s.name}: last error: ${s.lastError}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    process.stdout.write(STATUS_HELP);
    return 0;
  }
  const timeout = values.timeout === undefined ? 3000 : Number(values.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0) throw new SensorError('ESENSOR_USAGE', '--timeout must be a positive number of milliseconds');
  const url = values.url ?? statusUrl(values.config);
  const report = await fetchHealth(url, timeout);
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report, url));
  return report.status === 'ok' ? 0 : 1;
}
