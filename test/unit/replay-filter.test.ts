// --filter: a condition in the rule language compiled by the rule compiler
// (same operators, fields, macros, lists, errors); and the partial evaluation
// replay's fast path relies on: "no rule can match, whatever the unknown
// fields hold" must never be said of an event a rule matches.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { isSensorError } from '../../src/errors.js';
import type { SensorEvent } from '../../src/model/event.js';
import { loadRules, ruleFiles } from '../../src/rules/engine.js';
import { FIELDS } from '../../src/rules/fields.js';
import { compileFilter, emptyPartial, factorShared, partialMatcher, upperBound } from '../../src/rules/filter.js';
import { specialize, toClosure, type IR } from '../../src/rules/compiler.js';
import { readRuleFiles } from '../../src/rules/source.js';
import { getPath, setPathCreating } from '../../src/sources/replay/capture-format.js';
import { corpus } from '../helpers/normalize-corpus.js';
import { rawEvents } from '../helpers/replay-fixtures.js';

const bundled = readRuleFiles(ruleFiles({ bundled: true, paths: [] })).files;
const EVENTS: SensorEvent[] = [...corpus().map((ce) => ce.event), ...rawEvents(4, 600, 0.7)];

function filterError(text: string): { code: string; location: string | undefined; message: string } {
  try {
    compileFilter(text, { definitions: bundled });
  } catch (e) {
    assert.ok(isSensorError(e));
    return { code: e.code, location: e.location, message: e.message };
  }
  assert.fail(`"${text}" compiled`);
}

describe('--filter expressions', () => {
  test('select exactly what the same condition as a rule matches', () => {
    const exprs = [
      'ebpf.kind = open and file.path startswith /etc/',
      'process.name in (bash, sh) or event.outcome = failure',
      'not ebpf.kind in (open, exec) and user.id < 1000',
      'file.path glob "/etc/*sh*" or process.executable regex "^/usr/(s)?bin/"',
      'open_write and file.path in (account_files)',
      'spawned and not system_binary',
    ];
    for (const text of exprs) {
      const f = compileFilter(text, { definitions: bundled });
      let hits = 0;
      for (const ev of EVENTS) {
        const want = expected(text, ev);
        assert.equal(f.test(ev), want, `${text} on ${ev.event.id}`);
        if (want) hits++;
      }
      assert.ok(hits > 0 && hits < EVENTS.length, `${text}: ${hits} of ${EVENTS.length} match`);
    }
  });

  test('runtime lists (the recording sensor\'s pid and files) can be used', () => {
    const f = compileFilter('process.pid in (sensor_pids)', { definitions: bundled, lists: { sensor_pids: ['200'] } });
    const hits = EVENTS.filter((e) => f.test(e));
    assert.ok(hits.length > 0);
    assert.ok(hits.every((e) => e.process.pid === 200));
  });

  test('errors point at --filter:1:column with the compiler\'s messages', () => {
    assert.deepEqual(filterError('process.name = '), { code: 'ESENSOR_RULE_PARSE', location: '--filter:1:16', message: 'condition: expected a value, found end of condition' });
    const unknown = filterError('proc.name = bash');
    assert.equal(unknown.code, 'ESENSOR_RULE_SEMANTIC');
    assert.equal(unknown.location, '--filter:1:1');
    assert.match(unknown.message, /unknown field "proc.name" \(did you mean .*process.name/);
    const type = filterError('process.pid startswith 12');
    assert.equal(type.code, 'ESENSOR_RULE_SEMANTIC');
    assert.match(type.message, /type mismatch: process.pid is long/);
    assert.equal(filterError('process.name regex "(a+)+$("').code, 'ESENSOR_RULE_REGEX');
    assert.match(filterError('ebpf.kind = open and ebpf.kind = exec').message, /the filter can never match/);
    assert.match(filterError('no_such_macro').message, /undefined macro "no_such_macro"/);
  });
});

/** The expression as the condition of a rule in a file, after the bundled rules: does it match? */
const engines = new Map<string, ReturnType<typeof loadRules>>();
function expected(text: string, ev: SensorEvent): boolean {
  let e = engines.get(text);
  if (!e) {
    const file = join(mkdtempSync(join(tmpdir(), 'ebpf-sensor-filter-')), 'f.yaml');
    writeFileSync(file, `- rule: f\n  desc: f\n  condition: ${JSON.stringify(text)}\n  output: x\n  severity: low\n`);
    e = loadRules({ bundled: true, paths: [file] });
    engines.set(text, e);
  }
  return e.classify(ev).matches.some((m) => m.id === 'f');
}

describe('partial evaluation (replay fast path)', () => {
  const engine = loadRules({ bundled: true, paths: [] });
  const names = [...FIELDS.keys()];

  test('never says "cannot match" of an event a rule or the filter matches, whatever fields are known', () => {
    const filter = compileFilter('not process.name = nginx', { definitions: bundled });
    let decided = 0;
    fc.assert(
      fc.property(fc.nat(EVENTS.length - 1), fc.subarray(names), fc.boolean(), (i, known, withFilter) => {
        const ev = EVENTS[i]!;
        const knownSet = new Set(known);
        const m = partialMatcher({ rules: engine.rules, always: ['loss'], ...(withFilter ? { filter } : {}) }, (f) => knownSet.has(f));
        const partial = emptyPartial();
        for (const f of known) {
          const v = getPath(ev, f);
          if (v !== undefined) setPathCreating(partial, f, v);
        }
        const v = m.get(ev.ebpf.kind);
        const may = v === undefined ? false : v.t === 'test' ? v.may(partial as unknown as SensorEvent) : true;
        const matters = (engine.classify(ev).classification === 'suspicious' || ev.ebpf.kind === 'loss') && (!withFilter || filter.test(ev));
        if (!may) decided++;
        return may || !matters;
      }),
      { numRuns: 3000 },
    );
    assert.ok(decided > 300, `only ${decided} events were ruled out: the property would be weak`);
  });

  test('with every field known it decides exactly like the engine', () => {
    const m = partialMatcher({ rules: engine.rules }, () => true);
    for (const ev of EVENTS) {
      const v = m.get(ev.ebpf.kind);
      const may = v === undefined ? false : v.t === 'test' ? v.may(ev) : true;
      assert.equal(may, engine.classify(ev).classification === 'suspicious', ev.event.id);
    }
  });

  test('issue-14: a test many rules share is evaluated once per partial event, with the same answers', () => {
    // 22 of the bundled rules on opens start with the open's intent: a read-only open of a path no rule
    // names does not read it once per rule.
    const shape = new Set(['ebpf.kind', 'ebpf.open.intent', 'file.path', 'file.name', 'file.directory']);
    const m = partialMatcher({ rules: engine.rules, always: ['loss'] }, (f) => shape.has(f));
    const v = m.get('open');
    assert.ok(v?.t === 'test');
    let reads = 0;
    const partial = emptyPartial() as { ebpf: Record<string, unknown>; file?: unknown };
    partial.ebpf.kind = 'open';
    partial.ebpf.open = {
      get intent() {
        reads++;
        return ['read'];
      },
    };
    partial.file = { path: '/var/lib/app/cache/7f3a', name: '7f3a', directory: '/var/lib/app/cache' };
    assert.equal(v.may(partial as unknown as SensorEvent), false);
    // Once for the rules that start with it, once for the one that tests its negation (24 before).
    assert.equal(reads, 2);
    // Factored and as written, on events with random fields known: the same answer for every family.
    const byKind = new Map<string, IR[]>();
    for (const r of engine.rules) for (const [kind, ir] of r.specialized) byKind.set(kind, [...(byKind.get(kind) ?? []), ir]);
    let differ = 0;
    fc.assert(
      fc.property(fc.nat(EVENTS.length - 1), fc.subarray(names), (i, known) => {
        const ev = EVENTS[i]!;
        const knownSet = new Set(known);
        const irs = byKind.get(ev.ebpf.kind);
        if (!irs) return true;
        const whole = specialize({ t: 'or', items: irs.map((ir) => upperBound(ir, (f) => knownSet.has(f))) }, new Map());
        const factored = factorShared(whole);
        if (JSON.stringify(whole, (k, x) => (k === 'field' || k === 'pred' ? undefined : x)) !== JSON.stringify(factored, (k, x) => (k === 'field' || k === 'pred' ? undefined : x))) differ++;
        const partial = emptyPartial();
        for (const f of known) {
          const x = getPath(ev, f);
          if (x !== undefined) setPathCreating(partial, f, x);
        }
        const p = partial as unknown as SensorEvent;
        return toClosure(factored)(p) === toClosure(whole)(p) && toClosure(factorShared(specialize(whole, new Map())))(ev) === toClosure(whole)(ev);
      }),
      { numRuns: 1500 },
    );
    assert.ok(differ > 150, `only ${differ} bounds were factored: the property would be weak`);
  });
});
