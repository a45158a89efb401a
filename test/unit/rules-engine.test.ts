import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSensorError, type SensorError } from '../../src/errors.js';
import { buildRules, loadRules, type RuleEngine } from '../../src/rules/engine.js';
import { fixtureEvent } from '../../src/rules/fixtures.js';
import { parseCondition, ConditionError } from '../../src/rules/condition.js';
import { FIELDS, ACTIONS_OF_KIND, SYSCALLS_OF_KIND } from '../../src/rules/fields.js';
import { SYSCALL_NAMES } from '../../src/decode/decode.js';
import { EVENT_KINDS, type SensorEvent } from '../../src/model/event.js';
import { componentLogger } from '../../src/telemetry/logger.js';
import { RuleReloader } from '../../src/rules/reloader.js';

const dir = mkdtempSync(join(tmpdir(), 'rules-test-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(text: string, name = `r${n++}.yaml`): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
function errorsOf(...texts: string[]): SensorError[] {
  return buildRules({ bundled: false, paths: texts.map((t) => file(t)) }).errors;
}
function engineOf(...texts: string[]): RuleEngine {
  return loadRules({ bundled: false, paths: texts.map((t) => file(t)) });
}
function ids(e: RuleEngine, ev: Record<string, unknown>): string[] {
  return e.classify(fixtureEvent(ev)).matches.map((m) => m.id);
}
const rule = (id: string, condition: string, extra = ''): string =>
  `- rule: ${id}\n  desc: d\n  condition: ${JSON.stringify(condition)}\n  output: "o %{process.name}"\n  severity: high\n  tags: [T1000]\n${extra}`;

test('parser: precedence is not > and > or, parentheses group', () => {
  const e = parseCondition('a or b and not c');
  assert.equal(e.t, 'or');
  assert.equal(e.t === 'or' && e.items[1]!.t, 'and');
  const g = parseCondition('(a or b) and c');
  assert.equal(g.t, 'and');
});

test('parser: errors carry the offset of the problem', () => {
  assert.throws(() => parseCondition('process.name = '), (e: unknown) => e instanceof ConditionError && e.at === 15);
  assert.throws(() => parseCondition('(process.name = a'), (e: unknown) => e instanceof ConditionError && /expected "\)"/.test(e.message));
  assert.throws(() => parseCondition('process.name = "x'), (e: unknown) => e instanceof ConditionError && e.at === 15);
});

test('lint: every problem is reported with file:line:column', () => {
  const errs = errorsOf(
    [
      '- macro: m1',
      '  condition: m2',
      '- macro: m2',
      '  condition: m1',
      '- list: l1',
      '  items: [l2]',
      '- list: l2',
      '  items: [l1]',
      '- rule: r1',
      '  desc: d',
      '  condition: process.nme = x and process.pid = abc and file.path > 3',
      '  output: "%{proc.name}"',
      '  severity: high',
      '- rule: r2',
      '  desc: d',
      '  condition: undefined_macro or m1 or process.name regex "(a)\\1"',
      '  output: o',
      '  severity: low',
      '- rule: r3',
      '  desc: d',
      '  condition: process.name = (',
      '  output: o',
      '  severity: extreme',
      '  bogus: 1',
    ].join('\n'),
  );
  const lines = errs.map((e) => `${e.line}:${e.column} ${e.code} ${e.message}`);
  const has = (re: RegExp): void => assert.ok(lines.some((l) => re.test(l)), `${re} in\n${lines.join('\n')}`);
  has(/^23:13 ESENSOR_RULE_SCHEMA severity must be one of "low", "medium", "high", "critical"/);
  has(/^24:3 ESENSOR_RULE_SCHEMA unknown key "bogus"/);
  has(/ESENSOR_RULE_SEMANTIC macro cycle: m1 → m2 → m1/);
  assert.equal(new Set(lines).size, lines.length, 'each problem once');
  has(/ESENSOR_RULE_SEMANTIC list cycle/);
  has(/^11:14 ESENSOR_RULE_SEMANTIC unknown field "process.nme"/);
  has(/^11:48 ESENSOR_RULE_SEMANTIC type mismatch: process.pid is long, "abc" is not a number/);
  has(/^11:66 ESENSOR_RULE_SEMANTIC type mismatch: file.path is keyword, operator ">"/);
  has(/^12:14 ESENSOR_RULE_SEMANTIC output: unknown field "proc.name"/);
  has(/^16:14 ESENSOR_RULE_SEMANTIC undefined macro "undefined_macro"/);
  has(/^16:58 ESENSOR_RULE_REGEX invalid regex/);
  assert.ok(errs.every((e) => e.file !== undefined && e.file.endsWith('.yaml')));
});

test('lint: YAML syntax errors and condition parse errors are located', () => {
  const e1 = errorsOf('- rule: x\n  desc: [unclosed\n');
  assert.equal(e1[0]!.code, 'ESENSOR_RULE_PARSE');
  assert.ok(e1[0]!.line! >= 2);
  const e2 = errorsOf(rule('x', 'process.name = a and and'));
  assert.equal(e2[0]!.code, 'ESENSOR_RULE_PARSE');
  assert.equal(e2[0]!.line, 3);
  assert.equal(e2[0]!.column, 36);
});

test('regex: RE2 engine, linear time on inputs that break a backtracking engine', () => {
  const e = engineOf(rule('re', 'process.command_line regex "^(a+)+$"'));
  const evil = `${'a'.repeat(50_000)}!`;
  const t0 = performance.now();
  assert.deepEqual(ids(e, { 'process.command_line': evil, 'process.args': [evil] }), []);
  assert.ok(performance.now() - t0 < 2000, 'no catastrophic backtracking');
  assert.deepEqual(ids(e, { 'process.command_line': 'aaaa' }), ['re']);
  assert.equal(errorsOf(rule('la', 'process.name regex "(?=x)"'))[0]!.code, 'ESENSOR_RULE_REGEX');
});

test('operators: =, !=, <, in, startswith, endswith, contains, glob, regex, exists, not, lists, macros', () => {
  const e = engineOf(
    [
      '- list: shells\n  items: [bash, sh]',
      '- macro: is_shell\n  condition: process.name in (shells)',
      rule('eq', 'process.name = bash'),
      rule('ne', 'process.name != bash'),
      rule('lt', 'process.pid < 100'),
      rule('sw', 'process.executable startswith /usr/'),
      rule('ew', 'process.executable endswith /sh'),
      rule('ct', 'process.command_line contains "-i"'),
      rule('gl', 'process.executable glob "/usr/*/ba?h"'),
      rule('gs', 'process.executable glob "/usr/**"'),
      rule('rx', 'process.name regex "^b.sh$"'),
      rule('ex', 'file.path exists'),
      rule('nx', 'not file.path exists'),
      rule('mc', 'is_shell and not process.pid in (1, 2)'),
    ].join('\n'),
  );
  assert.deepEqual(ids(e, { 'ebpf.kind': 'connect', 'process.executable': '/usr/bin/bash', 'process.args': ['bash', '-i'], 'process.pid': 50 }).sort(), [
    'ct', 'eq', 'gl', 'gs', 'lt', 'mc', 'nx', 'rx', 'sw',
  ]);
  assert.deepEqual(ids(e, { 'ebpf.kind': 'connect', 'process.executable': '/usr/local/bin/sh', 'process.pid': 500 }).sort(), ['ew', 'gs', 'mc', 'ne', 'nx', 'sw']);
  // exec events carry file.* (the executable); connect events never do.
  assert.ok(ids(e, { 'ebpf.kind': 'exec', 'process.executable': '/opt/x' }).includes('ex'));
});

test('arrays match when any element matches; != means no element equals', () => {
  const e = engineOf(rule('a', 'process.args = "-e"'), rule('b', 'process.args != "-e"'), rule('c', 'ebpf.ids.requested = 0'));
  assert.deepEqual(ids(e, { 'process.args': ['nc', '-e', '/bin/sh'] }), ['a']);
  assert.deepEqual(ids(e, { 'process.args': ['nc', '-l'] }), ['b']);
  assert.deepEqual(ids(e, { 'ebpf.kind': 'setuid', 'ebpf.ids.requested': [-1, 0, -1], 'process.args': ['x'] }), ['b', 'c']);
});

test('numeric-looking keywords (ids): = compares the decimal text, < compares numbers', () => {
  const e = engineOf(rule('root', 'user.id = 0'), rule('quoted', 'user.id = "0"'), rule('system', 'user.id < 1000'), rule('padded', 'user.id = 007'));
  assert.deepEqual(ids(e, { 'user.id': '0' }).sort(), ['quoted', 'root', 'system']);
  assert.deepEqual(ids(e, { 'user.id': '7' }).sort(), ['padded', 'system']);
  assert.deepEqual(ids(e, { 'user.id': '1000' }), []);
});

test('absent fields fail every test but "not … exists"; comparisons on them are false, even !=', () => {
  const e = engineOf(rule('ne', 'container.id != abc'), rule('nex', 'not container.id exists'));
  assert.deepEqual(ids(e, {}), ['nex']);
  assert.deepEqual(ids(e, { 'container.id': 'def' }), ['ne']);
});

test('exceptions: named tuples silence a rule; single-field form; lists in values', () => {
  const e = engineOf(
    [
      '- list: tools\n  items: [/usr/bin/a, /usr/bin/b]',
      rule(
        'w',
        'file.path startswith /etc/',
        '  exceptions:\n' +
          '    - name: pkg\n      fields: [process.executable, file.path]\n      comps: [in, startswith]\n      values:\n        - [[tools], /etc/apt/]\n' +
          '    - name: one\n      fields: process.name\n      values: [trusted, also_trusted]\n',
      ),
    ].join('\n'),
  );
  const ev = (exe: string, path: string): Record<string, unknown> => ({ 'ebpf.kind': 'open', 'process.executable': exe, 'file.path': path });
  assert.deepEqual(ids(e, ev('/usr/bin/a', '/etc/passwd')), ['w']);
  assert.deepEqual(ids(e, ev('/usr/bin/b', '/etc/apt/sources.list')), []);
  assert.deepEqual(ids(e, ev('/usr/bin/trusted', '/etc/passwd')), []);
});

test('override: a later file appends to or replaces a rule, list or macro; same-file duplicates are errors', () => {
  const base = [
    '- list: names\n  items: [a]',
    '- macro: m\n  condition: process.name in (names)',
    rule('r', 'm'),
  ].join('\n');
  const site = [
    '- list: names\n  override: {items: append}\n  items: [b]',
    '- macro: m\n  override: {condition: append}\n  condition: or process.name = c',
    '- rule: r\n  override: {severity: replace, condition: append, tags: append}\n  severity: low\n  condition: and not process.pid = 7\n  tags: [T1059]',
  ].join('\n');
  const e = engineOf(base, site);
  for (const name of ['a', 'b', 'c']) assert.deepEqual(ids(e, { 'process.name': name }), ['r'], name);
  assert.deepEqual(ids(e, { 'process.name': 'a', 'process.pid': 7 }), []);
  const m = e.classify(fixtureEvent({ 'process.name': 'a' })).matches[0]!;
  assert.equal(m.severity, 'low');
  assert.deepEqual(m.tags, ['T1000', 'T1059']);
  // disable a rule from a later file
  const off = engineOf(base, '- rule: r\n  override: {enabled: replace}\n  enabled: false');
  assert.deepEqual(ids(off, { 'process.name': 'a' }), []);
  // errors
  assert.match(errorsOf(base, '- rule: nope\n  override: {enabled: replace}\n  enabled: false')[0]!.message, /override of rule "nope", which no earlier file defines/);
  assert.match(errorsOf(`${base}\n${rule('r', 'm')}`)[0]!.message, /defined twice in this file/);
  assert.match(errorsOf(base, '- rule: r\n  override: {enabled: replace}\n  enabled: false\n  severity: low')[0]!.message, /not named in override/);
  assert.match(errorsOf(base, '- macro: m\n  override: {condition: append}\n  condition: process.name = c')[0]!.message, /must start with "and" or "or"/);
});

test('verdicts: every matching rule in declaration order, rendered message, deterministic', () => {
  const e = engineOf(rule('first', 'process.name = x'), rule('second', 'process.pid > 0'));
  const ev = fixtureEvent({ 'process.name': 'x' });
  const v1 = e.classify(ev);
  const v2 = e.classify(structuredClone(ev));
  assert.deepEqual(v1, v2);
  assert.equal(v1.classification, 'suspicious');
  assert.deepEqual(v1.matches.map((m) => m.id), ['first', 'second']);
  assert.equal(v1.matches[0]!.message, 'o x');
  assert.equal(v1.matches[0]!.version, e.version);
  assert.equal(e.classify(fixtureEvent({ 'process.name': 'y', 'process.pid': 0 })).classification, 'normal');
});

test('rules are indexed by family: a rule only runs on the families it can match', () => {
  const e = engineOf(rule('open_only', 'ebpf.kind = open and file.path = /x'), rule('by_action', 'event.action = connection_attempted'), rule('by_field', 'destination.port = 4444'), rule('by_syscall', 'ebpf.syscall = accept4'));
  assert.deepEqual(e.rulesFor('open').map((r) => r.id), ['open_only']);
  assert.deepEqual(e.rulesFor('connect').map((r) => r.id), ['by_action', 'by_field']);
  assert.deepEqual(e.rulesFor('accept').map((r) => r.id), ['by_field', 'by_syscall']);
  assert.deepEqual(e.rulesFor('exec'), []);
  assert.match(errorsOf(rule('never', 'ebpf.kind = open and destination.port = 1'))[0]!.message, /can never match/);
});

test('field registry: agrees with the decoder (syscalls and actions per family) and covers the model', () => {
  const all = Object.values(SYSCALLS_OF_KIND).flat();
  for (const name of Object.values(SYSCALL_NAMES)) assert.ok(all.includes(name), `${name} has a family`);
  assert.deepEqual(Object.keys(SYSCALLS_OF_KIND).sort(), [...EVENT_KINDS].sort());
  assert.deepEqual(Object.keys(ACTIONS_OF_KIND).sort(), [...EVENT_KINDS].sort());
  for (const f of ['process.name', 'process.parent.executable', 'file.path', 'event.action', 'user.id', 'destination.port']) assert.ok(FIELDS.has(f), f);
  assert.equal(FIELDS.get('process.args')!.array, true);
  assert.equal(FIELDS.get('user.id')!.type, 'id');
});

test('the engine never evaluates rule text as code', () => {
  const src = join(import.meta.dirname, '../../../src/rules');
  for (const f of readdirSync(src, { recursive: true }) as string[]) {
    if (!f.endsWith('.ts')) continue;
    const text = readFileSync(join(src, f), 'utf8');
    assert.ok(!/\beval\s*\(|new\s+Function\s*\(/.test(text), `${f} uses eval/new Function`);
  }
});

test('loadRules throws one error listing every problem', () => {
  assert.throws(
    () => loadRules({ bundled: false, paths: [file(rule('a', 'nope.field = 1') + rule('b', 'also.bad = 2'))] }),
    // Each problem names its own location; the summary names none (issue 13: it repeated the first's).
    (e: unknown) => isSensorError(e, 'ESENSOR_RULE_SEMANTIC') && /2 problems/.test(e.message) && e.location === undefined && /:3:\d+: .*\n.*:9:\d+: /.test(e.message),
  );
});

test('reload: a broken file keeps the old ruleset, a fixed one replaces it, file changes are picked up', async () => {
  const d = mkdtempSync(join(dir, 'reload-'));
  const p = join(d, 'site.yaml');
  writeFileSync(p, rule('v1', 'process.name = a'));
  const loaded: RuleEngine[] = [];
  const r = new RuleReloader({ sources: { bundled: false, paths: [p] }, watch: true, log: componentLogger('test'), onLoad: (e) => loaded.push(e), debounceMs: 20 });
  const first = r.start();
  assert.equal(loaded.length, 1);
  writeFileSync(p, rule('v2', 'process.name = ('));
  assert.equal(r.reload('test'), false);
  assert.equal(r.engine, first, 'old ruleset still running');
  assert.equal(r.stats.failures, 1);
  assert.match(r.stats.lastError ?? '', /site\.yaml:3:\d+: ESENSOR_RULE_PARSE/);
  writeFileSync(p, rule('v3', 'process.name = b'));
  const deadline = Date.now() + 5000;
  while (loaded.length < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  r.close();
  assert.equal(loaded.length, 2, 'file change reloaded the rules');
  assert.deepEqual(loaded[1]!.rules.map((x) => x.id), ['v3']);
  assert.deepEqual(ids(loaded[1]!, { 'process.name': 'b' }), ['v3']);
});

test('without the package-manager exemption the same install writes are alerts (the exemption is what silences them)', () => {
  const strict = loadRules({ bundled: true, paths: [file('- macro: package_management\n  override: {condition: replace}\n  condition: process.pid < 0')] });
  const normal = loadRules({ bundled: true, paths: [] });
  const ev: SensorEvent = fixtureEvent({ 'ebpf.kind': 'rename', 'file.path': '/etc/cron.daily/foo', 'process.executable': '/usr/bin/dpkg' });
  assert.deepEqual(strict.classify(ev).matches.map((m) => m.id), ['cron_modified']);
  assert.equal(normal.classify(ev).classification, 'normal');
});
