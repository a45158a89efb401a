/**
 * `ebpf-sensor replay INPUT...`: recorded events (capture files, journal
 * directories) through the current or given rules, to any configured
 * output, with a progress bar on a terminal and a summary of the alerts at
 * the end. Needs no privilege and never touches the kernel: nothing here
 * loads the native addon or BPF, and kill actions are never carried out.
 */
import { statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SensorError } from '../errors.js';
import { readSafeFile, loadConfig, type SensorConfig } from '../config/config.js';
import { setInputLimits } from '../model/limits.js';
import { createLogger } from '../telemetry/logger.js';
import { agentInfo, collectHostInfo } from '../pipeline/host-info.js';
import { buildSinks, loadConfiguredSinks } from '../pipeline/outputs.js';
import { replay, type ReplayProgress } from '../pipeline/replay.js';
import { formatSummary } from '../pipeline/replay-summary.js';
import { timeOption as time } from '../pipeline/replay-time.js';
import type { AgentInfo, HostInfo } from '../model/event.js';

export const REPLAY_HELP = `Usage: ebpf-sensor replay [options] INPUT...

Feeds recorded events through the same stages as the live sensor (enrich,
rules, normalize, outputs) with the current rules or the ones given, and
prints a summary of the alerts by rule and severity (stderr). INPUT is a
capture file ('run --capture', 'journal export') or a journal directory;
several are replayed one after the other. The same inputs with the same
rules and options give the same output, byte for byte, on any machine.
Needs no root; never loads BPF and never kills a process.

Options:
  -c, --config FILE        YAML configuration: rules, outputs (stdout/file, Kafka,
                           Elasticsearch, syslog), cef vendor/product
  -o, --output TARGET      stdout (default) or file:PATH
  -f, --format FORMAT      ecs (default) or cef
      --events WHICH       all (default) or alerts
      --rules PATH         extra rule file or directory (repeatable), after the bundled rules
      --no-bundled-rules   do not load the bundled rules
      --since TIME         only events at or after TIME (ISO-8601, e.g. 2026-11-23T16:00:00Z)
      --until TIME         only events before TIME
      --filter EXPR        only events matching EXPR, a condition in the rule language
                           (e.g. 'process.name = curl and destination.port = 443')
      --process ENTITY_ID  only this process (process.entity_id) and its descendants,
                           with the fork/exec/exit events of its ancestors; events all
                           unless --events alerts
      --speed SPEED        max (default), recorded, or a factor of the recorded pace (10)
      --skip-bad           replay what is readable in damaged inputs (reported) instead
                           of stopping at the first bad record
      --max-block-mb N     largest inflated capture block accepted, MiB (default 64; the
                           writer makes 16): the memory a hostile capture can cost
      --max-nesting N      how deep "not" and "(" may nest in a rule condition or --filter
                           (default: rules.maxNesting of the config, 100; 1-1000)
      --max-template-depth N
                           how deep a capture template may nest (default 32; 1-1000)
      --summary-json FILE  also write the summary as JSON
      --progress           force the progress bar (default: when stderr is a terminal)
      --no-progress        never show it
      --log-level LEVEL    trace|debug|info|warn|error|fatal|silent (default warn)
  -h, --help               Show this help

Exit codes: 0 done, 1 an input is damaged (without --skip-bad) or an output
failed, 2 usage, configuration or rule error.
`;

export const REPLAY_OPTIONS = {
  config: { type: 'string', short: 'c' },
  output: { type: 'string', short: 'o' },
  format: { type: 'string', short: 'f' },
  events: { type: 'string' },
  rules: { type: 'string', multiple: true },
  'no-bundled-rules': { type: 'boolean' },
  since: { type: 'string' },
  until: { type: 'string' },
  filter: { type: 'string' },
  process: { type: 'string' },
  speed: { type: 'string' },
  'skip-bad': { type: 'boolean' },
  'max-block-mb': { type: 'string' },
  'max-nesting': { type: 'string' },
  'max-template-depth': { type: 'string' },
  'summary-json': { type: 'string' },
  progress: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function maxBlockOf(v: string): number {
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n < 1 || n > 4096) throw new SensorError('ESENSOR_USAGE', `--max-block-mb must be an integer 1-4096, got "${v}"`);
  return n * 1024 * 1024;
}

/** An option's integer (NaN when it is not one: setInputLimits names the option). */
function intOf(v: string): number {
  return /^[0-9]+$/.test(v) ? Number(v) : NaN;
}

function speedOf(v: string | undefined): 'max' | number {
  if (v === undefined || v === 'max') return 'max';
  if (v === 'recorded') return 1;
  const n = Number(v.endsWith('x') ? v.slice(0, -1) : v);
  if (!Number.isFinite(n) || n <= 0) throw new SensorError('ESENSOR_USAGE', `--speed must be max, recorded or a positive factor, got "${v}"`);
  return n;
}

/** A one-line progress bar for a terminal: events, events/s, ETA. */
class ProgressBar {
  private last = 0;
  private shown = false;
  update(p: ReplayProgress, force = false): void {
    const now = performance.now();
    if (!force && now - this.last < 200) return;
    this.last = now;
    const s = p.elapsedMs / 1000;
    const rate = s > 0 ? p.records / s : 0;
    const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
    const eta = frac > 0 && frac < 1 ? (s / frac) * (1 - frac) : 0;
    const width = 24;
    const fill = Math.round(frac * width);
    const fmt = (sec: number): string => `${Math.floor(sec / 60)}:${String(Math.floor(sec % 60)).padStart(2, '0')}`;
    const line = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${p.records.toLocaleString('en-US')} events  ${Math.round(rate).toLocaleString('en-US')} events/s  ETA ${fmt(eta)}`;
    process.stderr.write(`\r${line}\x1b[K`);
    this.shown = true;
  }
  clear(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}

export async function replayCommand(argv: string[]): Promise<number> {
  const { values: a, positionals } = parseArgs({ args: argv, options: REPLAY_OPTIONS, strict: true, allowPositionals: true });
  if (a.help) {
    process.stdout.write(REPLAY_HELP);
    return 0;
  }
  if (!positionals.length) throw new SensorError('ESENSOR_USAGE', 'replay needs at least one INPUT (capture file or journal directory); see ebpf-sensor help replay');
  const cfg = structuredClone(loadConfig(a.config)) as SensorConfig;
  if (a.output !== undefined) {
    if (a.output !== 'stdout' && !a.output.startsWith('file:')) throw new SensorError('ESENSOR_USAGE', `--output must be stdout or file:PATH, got "${a.output}"`);
    cfg.output.target = a.output;
    cfg.output.enabled = true;
  }
  if (a.format !== undefined) {
    if (a.format !== 'ecs' && a.format !== 'cef') throw new SensorError('ESENSOR_USAGE', `--format must be ecs or cef, got "${a.format}"`);
    cfg.output.format = a.format;
  }
  if (a.events !== undefined && a.events !== 'all' && a.events !== 'alerts') throw new SensorError('ESENSOR_USAGE', `--events must be all or alerts, got "${a.events}"`);
  const events = (a.events as 'all' | 'alerts' | undefined) ?? 'all';
  // The runner decides what goes out; the stdout/file sink must not filter again.
  cfg.output.events = 'all';
  if (a.rules) cfg.rules.paths = [...cfg.rules.paths, ...a.rules];
  if (a['no-bundled-rules']) cfg.rules.bundled = false;
  if (!cfg.rules.bundled && !cfg.rules.paths.length) throw new SensorError('ESENSOR_USAGE', '--no-bundled-rules needs --rules PATH (or rules.paths in the config)');
  setInputLimits(
    {
      conditionDepth: a['max-nesting'] !== undefined ? intOf(a['max-nesting']) : cfg.rules.maxNesting,
      ...(a['max-template-depth'] !== undefined ? { templateDepth: intOf(a['max-template-depth']) } : {}),
    },
    { conditionDepth: a['max-nesting'] !== undefined ? '--max-nesting' : 'rules.maxNesting', templateDepth: '--max-template-depth' },
  );
  const summaryJson = a['summary-json'];
  // Before the work, not after it: a replay of hours must not end in a failed write.
  if (summaryJson !== undefined) checkOutputDir(summaryJson, '--summary-json');
  await loadConfiguredSinks(cfg);
  const log = createLogger({ level: (a['log-level'] as SensorConfig['log']['level'] | undefined) ?? 'warn', ...(cfg.log.pretty !== undefined ? { pretty: cfg.log.pretty } : {}) });
  const rlog = log.child({ component: 'replay' });
  const showProgress = a['no-progress'] ? false : (a.progress ?? process.stderr.isTTY === true);
  const bar = showProgress ? new ProgressBar() : undefined;
  let local: { host: HostInfo; agent: AgentInfo } | undefined;
  let damageLogged = 0;
  const summary = await replay({
    inputs: positionals,
    rules: { bundled: cfg.rules.bundled, paths: cfg.rules.paths, read: readSafeFile },
    events,
    since: time('since', a.since),
    until: time('until', a.until),
    filter: a.filter,
    process: a.process,
    speed: speedOf(a.speed),
    skipBad: a['skip-bad'] === true,
    ...(a['max-block-mb'] !== undefined ? { maxBlockBytes: maxBlockOf(a['max-block-mb']) } : {}),
    sinks: (host, agent) => buildSinks(cfg, host, agent).map((o) => o.sink),
    localHost: () => {
      if (!local) {
        const host = collectHostInfo(cfg.host.name);
        local = { host, agent: agentInfo(host) };
      }
      return local;
    },
    log: rlog,
    ...(bar ? { onProgress: (p: ReplayProgress) => bar.update(p) } : {}),
    onDamage: (d) => {
      // Damage is reported in the summary; the first ones are logged with where they are.
      if (damageLogged++ < 20) {
        bar?.clear();
        process.stderr.write(`ebpf-sensor: ${d.error.code}: ${d.error.location ? `${d.error.location}: ` : ''}${d.error.message} (skipped)\n`);
      }
    },
  });
  bar?.clear();
  process.stderr.write(formatSummary(summary));
  if (summaryJson !== undefined) {
    const text = `${JSON.stringify(summary.damage.length ? { ...summary, damage: summary.damage.map((d) => ({ file: d.file, records: d.records, code: d.error.code, message: d.error.message })) } : summary, null, 2)}\n`;
    try {
      writeFileSync(summaryJson, text);
    } catch (e) {
      throw new SensorError('ESENSOR_OUTPUT', `--summary-json ${summaryJson}: cannot write the summary: ${(e as Error).message}`, { file: summaryJson, cause: e });
    }
  }
  return 0;
}

/** ESENSOR_OUTPUT unless `file`'s directory exists (the file itself is written later). */
function checkOutputDir(file: string, option: string): void {
  const dir = dirname(resolve(file));
  let ok = false;
  try {
    ok = statSync(dir).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) throw new SensorError('ESENSOR_OUTPUT', `${option} ${file}: the directory ${dir} does not exist`, { file });
}
