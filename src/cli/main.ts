/**
 * cli: the `ebpf-sensor` command. Parses arguments, loads the config, builds
 * the pipeline for the chosen command and maps errors to exit codes:
 * 0 ok, 1 runtime failure, 2 usage/config error, 3 environment cannot run BPF.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SensorError, isSensorError, redactUrlCredentials } from '../errors.js';
import { SENSOR_VERSION } from '../pipeline/version.js';
import { createLogger } from '../telemetry/logger.js';
import { runCommand } from './run.js';
import { rulesCommand, RULES_HELP } from './rules-cmd.js';
import { statusCommand, STATUS_HELP } from './status.js';
import { replayCommand, REPLAY_HELP } from './replay-cmd.js';
import { journalCommand, JOURNAL_HELP } from './journal-cmd.js';

export const MAIN_HELP = `ebpf-sensor ${SENSOR_VERSION} — Linux host security sensor (eBPF on tracepoints)

Usage: ebpf-sensor <command> [options]

Commands:
  run              Load the BPF programs and report events (needs root or CAP_BPF+CAP_PERFMON)
  rules lint|test  Check rule files; run rule fixtures (no root needed)
  status           Show a running sensor's health: events, losses, journal, sinks
  replay INPUT...  Replay captures or a journal through the rules (no root, no BPF)
  journal export   Write a time range of the journal to a portable capture file
  help [command]   Show help for a command

Global options:
  -h, --help       Show help
  -V, --version    Print the version

Run 'ebpf-sensor help run' for the options of run.
`;

export const RUN_HELP = `Usage: ebpf-sensor run [options]

Loads the sensor's BPF programs, classifies every event and writes one line
per event (ECS JSON by default) to stdout or a file. Stops cleanly on SIGINT
or SIGTERM, detaching every program. Rule files are reloaded on SIGHUP and
when they change (config rules.watch); a broken file keeps the old rules.

Every classified event is first written to the journal (config journal.dir,
default /var/lib/ebpf-sensor/journal); each output reads it through its own
cursor: stdout/file (output), Kafka (kafka.brokers), Elasticsearch
(elasticsearch.node), syslog (syslog.enabled), Splunk HEC (splunk.url and
splunk.token) and OpenTelemetry logs (otlp.endpoint), set in the config file
or the environment. A sink that is down lags and catches up; a restart resumes
from the cursors. Prometheus metrics and health are served on
http://127.0.0.1:9464/metrics and /health (config metrics); see
'ebpf-sensor status'.

Options:
  -c, --config FILE        YAML configuration (schemas/config.schema.json)
  -o, --output TARGET      stdout (default) or file:PATH
  -f, --format FORMAT      ecs (default) or cef
      --events WHICH       all (default) or alerts: forward normal events too?
      --duration SECONDS   stop by itself after SECONDS (tests, benchmarks)
      --log-level LEVEL    trace|debug|info|warn|error|fatal|silent (default info)
      --rules PATH         extra rule file or directory (repeatable), loaded after the
                           bundled rules: it may override or append to them
      --no-bundled-rules   do not load the bundled rules (only --rules / rules.paths)
      --capture FILE       also record every event the pipeline sees, enriched, into a
                           capture file for 'ebpf-sensor replay' (docs/replay.md)
      --host-root PATH     the host's root file system is mounted at PATH (container
                           mode): user/group names, host.os, host.id and host.name
                           come from the host's files under it (default: /host when
                           running in a container and /host exists)
  -h, --help               Show this help

Logs go to stderr: human-readable on a terminal, JSON otherwise.
Environment overrides: EBPF_SENSOR_<SECTION>__<KEY>=value, e.g.
EBPF_SENSOR_OUTPUT__FORMAT=cef, EBPF_SENSOR_KAFKA__BROKERS='["kafka:9092"]',
EBPF_SENSOR_ELASTICSEARCH__NODE=http://127.0.0.1:9200,
EBPF_SENSOR_SPLUNK__URL=https://splunk:8088 with EBPF_SENSOR_SPLUNK__TOKEN,
EBPF_SENSOR_OTLP__ENDPOINT=http://127.0.0.1:4318.
`;

const HELP: Record<string, string> = { run: RUN_HELP, rules: RULES_HELP, status: STATUS_HELP, replay: REPLAY_HELP, journal: JOURNAL_HELP };

export const RUN_OPTIONS = {
  config: { type: 'string', short: 'c' },
  output: { type: 'string', short: 'o' },
  format: { type: 'string', short: 'f' },
  events: { type: 'string' },
  duration: { type: 'string' },
  'log-level': { type: 'string' },
  rules: { type: 'string', multiple: true },
  'no-bundled-rules': { type: 'boolean' },
  capture: { type: 'string' },
  'host-root': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help') {
    process.stdout.write(MAIN_HELP);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '-V' || cmd === '--version') {
    process.stdout.write(`${SENSOR_VERSION}\n`);
    return 0;
  }
  if (cmd === 'help') {
    const topic = rest[0];
    process.stdout.write(topic && HELP[topic] ? HELP[topic] : MAIN_HELP);
    return topic && !HELP[topic] ? 2 : 0;
  }
  try {
    switch (cmd) {
      case 'run': {
        const { values } = parseArgs({ args: rest, options: RUN_OPTIONS, strict: true, allowPositionals: false });
        if (values.help) {
          process.stdout.write(RUN_HELP);
          return 0;
        }
        return await runCommand(values);
      }
      case 'rules':
        return await rulesCommand(rest);
      case 'status':
        return await statusCommand(rest);
      case 'replay':
        return await replayCommand(rest);
      case 'journal':
        return await journalCommand(rest);
      default:
        throw new SensorError('ESENSOR_USAGE', `unknown command "${cmd}"; see ebpf-sensor --help`);
    }
  } catch (e) {
    return reportError(e);
  }
}

/** Print an error the way a user can act on, and pick the exit code. */
export function reportError(e: unknown): number {
  const log = createLogger({ level: 'info' });
  if (isSensorError(e)) {
    const where = e.location ? `${e.location}: ` : '';
    process.stderr.write(`ebpf-sensor: ${e.code}: ${where}${e.message}\n`);
    log.flush?.();
    switch (e.code) {
      case 'ESENSOR_USAGE':
      case 'ESENSOR_CONFIG':
      case 'ESENSOR_CONFIG_UNSAFE':
      case 'ESENSOR_JOURNAL_UNSAFE':
      case 'ESENSOR_RULE_PARSE':
      case 'ESENSOR_RULE_SCHEMA':
      case 'ESENSOR_RULE_SEMANTIC':
      case 'ESENSOR_RULE_REGEX':
        return 2;
      case 'ESENSOR_PRIVILEGE':
      case 'ESENSOR_KERNEL_UNSUPPORTED':
      case 'ESENSOR_FS_MISSING':
      case 'ESENSOR_BUILD_MISSING':
        return 3;
      default:
        return 1;
    }
  }
  if (e instanceof Error && (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`ebpf-sensor: ESENSOR_USAGE: ${e.message}\n`);
    return 2;
  }
  process.stderr.write(`ebpf-sensor: ESENSOR_INTERNAL: ${redactUrlCredentials(e instanceof Error ? (e.stack ?? e.message) : String(e))}\n`);
  return 1;
}
