/**
 * `ebpf-sensor rules lint|test`: tools for rule authors.
 *
 * lint PATH...  loads the rule files (on top of the bundled rules unless
 *               --no-bundled) and reports every problem as file:line:column.
 * import-sigma  converts Sigma rules (import-sigma-cmd.ts).
 * test PATH...  runs fixture files (YAML or NDJSON events with expected
 *               verdicts) against the rules and prints a pass/fail table;
 *               exit code 1 when a fixture fails.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SensorError } from '../errors.js';
import { buildRules, formatRuleErrors, type RuleEngine } from '../rules/engine.js';
import { fixturePaths, loadFixtureFile, runFixture, type FixtureResult } from '../rules/fixtures.js';
import { BUNDLED_RULES_DIR } from '../rules/source.js';
import { kernelKillRules, kernelNeeds } from '../rules/kernel-needs.js';
import { CEF_SEVERITY, ECS_SEVERITY } from '../normalize/severity.js';
import { importSigmaCommand } from './import-sigma-cmd.js';

export const RULES_HELP = `Usage: ebpf-sensor rules <lint|test|import-sigma> [options] [PATH...]

  lint [PATH...]   Check rule files (YAML): schema, condition syntax, fields,
                   types, macros, lists, regexes. Reports every problem as
                   file:line:column. PATHs are loaded after the bundled rules
                   (they may override or append to them); no PATH: the
                   bundled rules alone. Exit code 1 when a problem is found.
      --no-bundled     lint PATHs alone
      --list           also list every rule: severity (ECS/CEF), families, action, tags

  test [PATH...]   Run rule fixtures: YAML or NDJSON events with the verdict
                   each must get (schemas/rule-fixtures.schema.json). A PATH
                   is a fixture file, a directory of them, or a rules
                   directory with a fixtures/ sub-directory; no PATH: the
                   bundled fixtures. Prints a pass/fail table; exit code 1
                   when a fixture fails.
      --rules PATH     rule file or directory to test (repeatable), loaded after
                       the bundled rules
      --no-bundled     test only the --rules files

  import-sigma PATH... [-o DIR]
                   Convert Sigma rules into rule files (see
                   ebpf-sensor rules import-sigma --help).

  -h, --help       Show this help
`;

const OPTIONS = {
  rules: { type: 'string', multiple: true },
  'no-bundled': { type: 'boolean' },
  list: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function out(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
}

function isBundledDir(p: string): boolean {
  return resolve(p) === resolve(BUNDLED_RULES_DIR);
}

export async function rulesCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    out(RULES_HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'import-sigma') return importSigmaCommand(rest);
  const { values, positionals } = parseArgs({ args: rest, options: OPTIONS, strict: true, allowPositionals: true });
  if (values.help) {
    out(RULES_HELP);
    return 0;
  }
  switch (sub) {
    case 'lint':
      return lint(positionals, !values['no-bundled'], values.list === true);
    case 'test':
      return test(positionals, values.rules ?? [], !values['no-bundled']);
    default:
      throw new SensorError('ESENSOR_USAGE', `unknown rules command "${sub}": lint, test or import-sigma`);
  }
}

function lint(paths: string[], bundled: boolean, list: boolean): number {
  const withBundled = bundled && !paths.some(isBundledDir);
  if (!withBundled && paths.length === 0) throw new SensorError('ESENSOR_USAGE', 'rules lint --no-bundled needs at least one PATH');
  const r = buildRules({ bundled: withBundled, paths });
  if (!r.engine) {
    out(formatRuleErrors(r.errors));
    out(`${r.errors.length} problem${r.errors.length === 1 ? '' : 's'} in ${r.files.length} file${r.files.length === 1 ? '' : 's'}`);
    return 1;
  }
  const e = r.engine;
  if (list) out(ruleTable(e));
  const enabled = e.enabledRules.length;
  const kill = kernelKillRules(e);
  const needs = kernelNeeds(e, 'alerts');
  out(
    `ok: ${e.rules.length} rules (${enabled} enabled) in ${r.files.length} files, ruleset version ${e.version}; ` +
      `kernel needs ${needs.kinds === 'all' ? 'all' : needs.kinds.size} families, ${needs.prefixes.length} read prefixes, ${needs.paths.length} read paths, ${needs.names.length} read names` +
      `${needs.openReads ? ', every read-only open' : ''}; ${kill.length} kill rule${kill.length === 1 ? '' : 's'} decidable in the kernel`,
  );
  return 0;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function ruleTable(e: RuleEngine): string {
  const rows = e.rules.map((r) => [
    r.id,
    `${r.severity} (ECS ${ECS_SEVERITY[r.severity]}, CEF ${CEF_SEVERITY[r.severity]})`,
    r.enabled ? r.action : 'disabled',
    [...r.kinds].join(','),
    r.tags.join(' '),
  ]);
  const head = ['RULE', 'SEVERITY', 'ACTION', 'FAMILIES', 'TAGS'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : pad(c, w[i]!))).join('  ')).join('\n');
}

function test(paths: string[], rulePaths: string[], bundled: boolean): number {
  const fixtureArgs = paths.length ? paths : [BUNDLED_RULES_DIR];
  const files = fixtureArgs.flatMap((p) => {
    try {
      return fixturePaths(p);
    } catch (e) {
      throw new SensorError('ESENSOR_RULE_TEST', `cannot read fixtures at ${p}: ${(e as Error).message}`, { file: p, cause: e });
    }
  });
  if (!bundled && rulePaths.length === 0) throw new SensorError('ESENSOR_USAGE', 'rules test --no-bundled needs --rules PATH');
  const results: FixtureResult[] = [];
  const engines = new Map<string, RuleEngine>();
  for (const file of files) {
    const ff = loadFixtureFile(file);
    const key = JSON.stringify(ff.lists);
    let engine = engines.get(key);
    if (!engine) {
      const r = buildRules({ bundled, paths: rulePaths, lists: ff.lists });
      if (!r.engine) {
        out(formatRuleErrors(r.errors));
        out(`rules do not load: ${r.errors.length} problem${r.errors.length === 1 ? '' : 's'}`);
        return 1;
      }
      engine = r.engine;
      engines.set(key, engine);
    }
    const known = new Set(engine.rules.map((r) => r.id));
    for (const f of ff.fixtures) results.push(runFixture(f, engine, known));
  }
  const rows = results.map((r) => [
    r.pass ? 'PASS' : 'FAIL',
    `${r.fixture.file}:${r.fixture.line}`,
    r.fixture.name,
    r.got.length ? r.got.join(',') : 'normal',
    r.problem ?? '',
  ]);
  const head = ['RESULT', 'WHERE', 'FIXTURE', 'GOT', 'PROBLEM'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  out([head, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : pad(c, w[i]!))).join('  ').trimEnd()).join('\n'));
  const failed = results.filter((r) => !r.pass).length;
  out(`${results.length - failed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}
