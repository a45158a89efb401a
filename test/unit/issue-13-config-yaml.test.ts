// issue 13 (found by reading): a config error printed its location twice
// ("file:2:11: file:2:11: output.format …"), and a YAML alias (`*name`) used
// as the value of a rule field read as "[object Object]" (or dropped the
// field). Now the location is printed once, in front of the message, and an
// alias is resolved: a scalar one gives the anchored value, any other is a
// coded schema error naming the file, line and field.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { isSensorError, SensorError } from '../../src/errors.js';
import { compileRules } from '../../src/rules/compiler.js';
import { parseRuleText, type ListDef, type RuleDef } from '../../src/rules/source.js';
import { packageRoot } from '../../src/sources/kernel/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-issue13-cfgyaml-'));
chmodSync(dir, 0o755);

function configFile(name: string, text: string, mode = 0o644): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  chmodSync(f, mode);
  return f;
}

function configError(file: string, env: Record<string, string> = {}): SensorError {
  try {
    loadConfig(file, env);
  } catch (e) {
    assert.ok(isSensorError(e), String(e));
    return e;
  }
  assert.fail('the config was accepted');
}

/** How `ebpf-sensor` prints an error (src/cli/main.ts reportError), and how often `needle` occurs in it. */
function occurrences(e: SensorError, needle: string): number {
  return e.toString().split(needle).length - 1;
}

describe('issue-13: config errors name their location once', () => {
  const cases: Array<[string, () => SensorError, string]> = [
    ['a value the schema refuses', () => configError(configFile('enum.yaml', 'output:\n  format: bogus\n')), 'enum.yaml:2:11'],
    ['an unknown key', () => configError(configFile('key.yaml', 'output:\n  format: ecs\nfoo: 1\n')), 'key.yaml:3:1'],
    ['invalid YAML', () => configError(configFile('yaml.yaml', 'output: [\n')), 'yaml.yaml:2:1'],
    ['an alias bomb', () => configError(configFile('alias.yaml', `a: &a [x,x,x,x,x,x,x,x,x,x,x]\nb: &b [${Array(11).fill('*a').join(',')}]\nc: [${Array(11).fill('*b').join(',')}]\n`)), 'alias.yaml:2:'],
    ['a missing file', () => configError(join(dir, 'missing.yaml')), 'missing.yaml'],
    ['a file others can write', () => configError(configFile('unsafe.yaml', 'output:\n  format: ecs\n', 0o666)), 'unsafe.yaml'],
    ['an override naming no section', () => configError(configFile('ok1.yaml', '{}\n'), { EBPF_SENSOR_OUTPT__FORMAT: 'cef' }), 'EBPF_SENSOR_OUTPT__FORMAT'],
    ['an override naming no key', () => configError(configFile('ok2.yaml', '{}\n'), { EBPF_SENSOR_OUTPUT__FORMATT: 'cef' }), 'EBPF_SENSOR_OUTPUT__FORMATT'],
    ['an override that is not JSON', () => configError(configFile('ok3.yaml', '{}\n'), { EBPF_SENSOR_KERNEL__RINGBYTES: 'x{' }), 'EBPF_SENSOR_KERNEL__RINGBYTES'],
  ];
  for (const [what, make, where] of cases) {
    test(`issue-13-config-location: ${what}`, () => {
      const e = make();
      assert.ok(e.code === 'ESENSOR_CONFIG' || e.code === 'ESENSOR_CONFIG_UNSAFE', String(e));
      assert.ok(e.location?.includes(where), `location ${e.location} names ${where}`);
      assert.equal(occurrences(e, where), 1, `printed once: ${e.toString()}`);
    });
  }

  test('issue-13-config-location: several schema errors: the first at the front, each further one with its own location', () => {
    const f = configFile('two.yaml', 'output:\n  format: bogus\nfoo: 1\n');
    const e = configError(f);
    const lines = e.toString().split('\n');
    assert.equal(lines.length, 2, e.toString());
    assert.ok(lines[0]!.startsWith(`ESENSOR_CONFIG: ${e.location}: `), lines[0]);
    for (const where of [`${f}:2:11: output.format must be one of "ecs", "cef"`, `${f}:3:1: unknown key "foo"`]) {
      assert.equal(occurrences(e, where), 1, `${where} once in ${e.toString()}`);
    }
  });

  test('issue-13-config-location: the CLI prints the location once', () => {
    const f = configFile('cli.yaml', 'output:\n  format: bogus\n');
    const r = spawnSync(process.execPath, [join(packageRoot, 'bin/ebpf-sensor.js'), 'run', '--config', f], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim(), `ebpf-sensor: ESENSOR_CONFIG: ${f}:2:11: output.format must be one of "ecs", "cef"`);
  });
});

describe('issue-13: YAML aliases as rule field values', () => {
  const rules = `- list: shells
  items: [&sh bash, zsh]
- rule: &id shell-x
  desc: &d spawned a shell
  condition: &c process.name in (shells) and process.parent.name = "nginx"
  output: *d
  severity: &sev high
  tags: &t [T1059]
  exceptions:
    - name: e
      fields: process.name
      values: [*sh]
- rule: shell-y
  desc: *d
  condition: *c
  output: "shell %process.name"
  severity: *sev
  tags: *t
`;

  test('issue-13-yaml-alias-scalar: a scalar alias reads as its anchored value in every field', () => {
    const p = parseRuleText('aliases.yaml', rules);
    assert.deepEqual(p.errors, []);
    const list = p.defs.find((d): d is ListDef => d.type === 'list')!;
    assert.deepEqual(list.items?.map((i) => i.value), ['bash', 'zsh']);
    const [x, y] = p.defs.filter((d): d is RuleDef => d.type === 'rule');
    assert.equal(x!.id, 'shell-x');
    assert.equal(x!.output?.text, 'spawned a shell');
    assert.deepEqual(x!.exceptions?.[0]?.values.map((v) => v.tuple), [['bash']]);
    assert.equal(y!.id, 'shell-y');
    assert.equal(y!.desc, 'spawned a shell', 'not "[object Object]"');
    assert.equal(y!.condition?.text, 'process.name in (shells) and process.parent.name = "nginx"');
    assert.equal(y!.severity, 'high');
    assert.deepEqual(y!.tags, ['T1059']);
    // Positions of an aliased text are those of the anchored text (where the characters are).
    assert.deepEqual(y!.condition?.pos(0), { file: 'aliases.yaml', line: 5, column: 17 });
    const c = compileRules([{ file: 'aliases.yaml', text: rules, defs: p.defs }]);
    assert.deepEqual(c.errors.map(String), []);
    assert.deepEqual(c.rules.map((r) => r.id).sort(), ['shell-x', 'shell-y']);
  });

  test('issue-13-yaml-alias-collection: an alias of a map or list where text belongs is ESENSOR_RULE_SCHEMA naming file, line and field', () => {
    const text = `- rule: x
  desc: d
  condition: &c { a: 1 }
  output: o
  severity: high
- rule: y
  desc: d
  condition: *c
  output: o
  severity: high
`;
    const p = parseRuleText('bad-alias.yaml', text);
    const e = p.errors.find((x) => x.line === 8);
    assert.ok(e, p.errors.map(String).join('\n'));
    assert.equal(e.code, 'ESENSOR_RULE_SCHEMA');
    assert.equal(e.file, 'bad-alias.yaml');
    assert.equal(e.field, '1.condition');
    assert.doesNotMatch(String(e), /object Object/);
    assert.equal(p.defs.filter((d) => d.type === 'rule').length, 0, 'the refused rules are not compiled');
  });
});
