/**
 * `ebpf-sensor rules import-sigma PATH... [-o DIR]`: converts Sigma rules
 * (src/rules/sigma/) and writes one rule file per converted rule into DIR
 * (`<rule id>.yaml`; a file whose content is unchanged is not rewritten), or
 * every converted rule to stdout without -o. The report — converted per
 * logsource, and every rule not converted with its reason — goes to stdout
 * with -o and to stderr without.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SensorError } from '../errors.js';
import { importSigma, type SigmaImport } from '../rules/sigma/import.js';

export const IMPORT_SIGMA_HELP = `Usage: ebpf-sensor rules import-sigma PATH... [-o DIR]

  Convert Sigma rules (SigmaHQ format; files or directories, searched for
  *.yml/*.yaml) into ebpf-sensor rule files. Converted: the linux
  process_creation (execs), file_event and network_connection categories and
  the auditd service (EXECVE, SYSCALL and PATH records the sensor has
  events for). Field names are mapped to ECS, level to severity, ATT&CK tags
  to technique/tactic ids; title, id, author, description, references and
  false positives are kept (the author's attribution is a condition of the
  Detection Rule License). Every rule not converted is listed with the reason.

  -o, --output DIR   write DIR/<rule id>.yaml per rule (created if missing);
                     without it, the rules go to stdout and the report to stderr
  -q, --quiet        do not list the rules that were not converted
  -h, --help         Show this help

  Exit code 0 when at least one rule converted, 1 otherwise.
`;

const OPTIONS = {
  output: { type: 'string', short: 'o' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

function report(r: SigmaImport, quiet: boolean): string {
  const per = new Map<string, [number, number]>();
  for (const c of r.converted) per.set(c.logsource, [(per.get(c.logsource)?.[0] ?? 0) + 1, per.get(c.logsource)?.[1] ?? 0]);
  for (const s of r.skipped) per.set(s.logsource, [per.get(s.logsource)?.[0] ?? 0, (per.get(s.logsource)?.[1] ?? 0) + 1]);
  const lines: string[] = [];
  if (!quiet) for (const s of r.skipped) lines.push(`not converted: ${s.source}: ${s.reason}`);
  for (const [ls, [ok, no]] of [...per].sort(([a], [b]) => a.localeCompare(b))) lines.push(`${ls}: ${ok} of ${ok + no} converted`);
  lines.push(`converted ${r.converted.length} of ${r.converted.length + r.skipped.length} Sigma rules`);
  return `${lines.join('\n')}\n`;
}

export function importSigmaCommand(argv: string[]): number {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true });
  if (values.help) {
    process.stdout.write(IMPORT_SIGMA_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new SensorError('ESENSOR_USAGE', 'rules import-sigma needs at least one PATH (a Sigma rule file or directory)');
  for (const p of positionals) if (!existsSync(p)) throw new SensorError('ESENSOR_USAGE', `rules import-sigma: ${p} does not exist`);
  const r = importSigma(positionals);
  const dir = values.output;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    let written = 0;
    for (const c of r.converted) {
      const file = join(dir, `${c.id}.yaml`);
      if (existsSync(file) && readFileSync(file, 'utf8') === c.text) continue;
      writeFileSync(file, c.text, { mode: 0o644 });
      written++;
    }
    process.stdout.write(report(r, values.quiet === true));
    process.stdout.write(`${dir}: ${written} file${written === 1 ? '' : 's'} written, ${r.converted.length - written} unchanged\n`);
  } else {
    process.stdout.write(r.converted.map((c) => c.text).join('\n'));
    process.stderr.write(report(r, values.quiet === true));
  }
  return r.converted.length > 0 ? 0 : 1;
}
