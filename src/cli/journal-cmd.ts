/**
 * `ebpf-sensor journal export`: a time range of the local journal, optionally
 * filtered with a rule-language condition, into a portable capture file
 * (src/sources/replay/capture-format.ts) that `ebpf-sensor replay` reads on
 * any machine. The journal is opened read-only (no lock): a running sensor
 * keeps writing while it is exported.
 */
import { parseArgs } from 'node:util';
import { SensorError } from '../errors.js';
import { readSafeFile, loadConfig } from '../config/config.js';
import { Journal } from '../journal/journal.js';
import { createLogger } from '../telemetry/logger.js';
import { agentInfo, collectHostInfo } from '../pipeline/host-info.js';
import { SENSOR_VERSION } from '../pipeline/version.js';
import { timeOption as time } from '../pipeline/replay-time.js';
import { compileFilter, type EventFilter } from '../rules/filter.js';
import { ruleFiles } from '../rules/engine.js';
import { readRuleFiles } from '../rules/source.js';
import { CaptureWriter } from '../sources/replay/capture-writer.js';
import { eventProblem } from '../sources/replay/capture-checks.js';
import type { SensorEvent } from '../model/event.js';

export const JOURNAL_HELP = `Usage: ebpf-sensor journal export [options] --output FILE

  export   Write the journal's events (a time range, optionally filtered) to a
           capture file: gzip-compressed NDJSON with a header naming the
           sensor version, the host and the time range (docs/replay.md,
           schemas/capture.schema.json). Replay it anywhere with
           'ebpf-sensor replay FILE'. The journal is read without a lock, so a
           running sensor is not disturbed.

Options:
  -c, --config FILE        YAML configuration (journal.dir, rules for --filter's macros)
      --journal DIR        journal directory (default: config journal.dir)
  -o, --output FILE        the capture file to write (replaced if it exists; mode 0600)
      --since TIME         only events at or after TIME (ISO-8601)
      --until TIME         only events before TIME
      --filter EXPR        only events matching EXPR, a condition in the rule language;
                           the lists and macros of the rules may be used
      --rules PATH         rule file or directory whose lists and macros --filter may use
                           (repeatable; the bundled ones are always available)
      --log-level LEVEL    trace|debug|info|warn|error|fatal|silent (default warn)
  -h, --help               Show this help
`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  journal: { type: 'string' },
  output: { type: 'string', short: 'o' },
  since: { type: 'string' },
  until: { type: 'string' },
  filter: { type: 'string' },
  rules: { type: 'string', multiple: true },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function journalCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    process.stdout.write(JOURNAL_HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'export') throw new SensorError('ESENSOR_USAGE', `unknown journal command "${sub}"; see ebpf-sensor help journal`);
  const { values: a, positionals } = parseArgs({ args: rest, options: OPTIONS, strict: true, allowPositionals: true });
  if (a.help) {
    process.stdout.write(JOURNAL_HELP);
    return 0;
  }
  if (positionals.length) throw new SensorError('ESENSOR_USAGE', `unexpected argument "${positionals[0]}"; the capture file is given with --output`);
  if (a.output === undefined) throw new SensorError('ESENSOR_USAGE', 'journal export needs --output FILE');
  const cfg = loadConfig(a.config);
  const log = createLogger({ level: (a['log-level'] as 'warn' | undefined) ?? 'warn' }).child({ component: 'journal-export' });
  const since = time('since', a.since);
  const until = time('until', a.until);
  if (since !== undefined && until !== undefined && since >= until) throw new SensorError('ESENSOR_USAGE', `--since ${since} is not before --until ${until}`);
  let filter: EventFilter | undefined;
  if (a.filter !== undefined) {
    const src = { bundled: cfg.rules.bundled, paths: [...cfg.rules.paths, ...(a.rules ?? [])], read: readSafeFile };
    filter = compileFilter(a.filter, { definitions: readRuleFiles(ruleFiles(src), src.read).files });
  }
  const dir = a.journal ?? cfg.journal.dir;
  let damaged = 0;
  const journal = Journal.open(dir, {
    readOnly: true,
    onDamage: (d) => log.warn({ damage: d }, 'journal damage skipped: %s at offset %d of %s', d.reason, d.offset, d.file),
  });
  const host = collectHostInfo(cfg.host.name);
  const writer = CaptureWriter.create(a.output, {
    header: {
      sensor: { version: SENSOR_VERSION },
      host,
      agent: agentInfo(host),
      // The journal keeps no runtime lists (the recording sensor's pid): sensor rules replay without them.
      lists: {},
      source: { kind: 'journal', journal: journal.dir, since: since ?? null, until: until ?? null, filter: a.filter ?? null },
    },
  });
  let read = 0;
  const reader = journal.reader(journal.firstPosition);
  try {
    for (;;) {
      const r = reader.read(4096, 8 << 20);
      for (const s of r.skipped) if (s.reason === 'damaged') damaged += s.to - s.from;
      if (!r.records.length) break;
      const batch: SensorEvent[] = [];
      for (const rec of r.records) {
        read++;
        const ev = (rec.event as { event?: unknown }).event as SensorEvent;
        if (eventProblem(ev)) {
          damaged++;
          continue;
        }
        const ts = ev['@timestamp'];
        if (since !== undefined && !(ts >= since)) continue;
        if (until !== undefined && !(ts < until)) continue;
        if (filter && !filter.test(ev)) continue;
        batch.push(ev);
      }
      writer.write(batch);
      await writer.drain();
    }
  } finally {
    reader.close();
    await journal.close();
  }
  const s = await writer.close();
  process.stderr.write(
    `exported ${s.events} of ${read} journal events to ${s.file} (${s.bytes} bytes${s.from ? `, ${s.from} to ${s.to}` : ''})${damaged ? `; ${damaged} damaged records skipped` : ''}\n`,
  );
  return 0;
}
