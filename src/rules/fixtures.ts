/**
 * Rule fixtures: events with the verdict a ruleset must give them, in YAML
 * or NDJSON (schemas/rule-fixtures.schema.json). `ebpf-sensor rules test`
 * runs them; the bundled rules ship with fixtures for what each rule must
 * catch and what it must let pass.
 *
 * An event is written as a partial canonical event, nested or with dotted
 * keys (`file.path: /etc/passwd`), laid over a plain base event; unset
 * derived fields are filled the way decode/enrich fill them (event.action
 * and ebpf.syscall from the family, file.name/directory from file.path, process.name from
 * process.executable).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { lazyValidator } from '../model/schemas.js';
import { parseDocument, isSeq, isMap, isScalar, LineCounter, type Node as YamlNode } from 'yaml';
import { SensorError } from '../errors.js';
import { yamlToJs } from '../model/yaml-input.js';
import type { SensorEvent, Verdict } from '../model/event.js';
import type { Classifier } from './classifier.js';
import { SYSCALLS_OF_KIND } from './fields.js';
import { endpointAction } from '../model/actions.js';
import { PACKAGE_ROOT } from './source.js';

export const FIXTURES_SCHEMA_PATH = join(PACKAGE_ROOT, 'schemas/rule-fixtures.schema.json');

export interface Fixture {
  name: string;
  event: SensorEvent;
  /** Exactly these rules must match ('normal': none). */
  expect?: 'normal' | string[];
  /** These rules must match (others may too). */
  match?: string[];
  /** These rules must not match. */
  nomatch?: string[];
  file: string;
  line: number;
}

export interface FixtureFile {
  file: string;
  /** Items appended to lists while this file runs (runtime facts like the sensor's pid). */
  lists: Record<string, string[]>;
  fixtures: Fixture[];
}

export interface FixtureResult {
  fixture: Fixture;
  pass: boolean;
  got: string[];
  /** Why it failed. */
  problem?: string;
}

const validate = lazyValidator(FIXTURES_SCHEMA_PATH, { strictRequired: false });

/** The event a fixture's partial event is laid over. */
export function baseEvent(): SensorEvent {
  return {
    '@timestamp': '2026-01-01T00:00:00.000000000Z',
    event: { id: 'fixture', sequence: 0, action: 'exec', outcome: 'success' },
    process: {
      pid: 4242,
      entity_id: 'fixture-process',
      name: 'app',
      executable: '/usr/local/bin/app',
      args: ['app'],
      command_line: 'app',
      working_directory: '/home/user',
      thread: { id: 4242 },
      user: { id: '1000', name: 'user' },
      group: { id: '1000', name: 'user' },
      real_user: { id: '1000', name: 'user' },
      real_group: { id: '1000', name: 'user' },
      saved_user: { id: '1000', name: 'user' },
      saved_group: { id: '1000', name: 'user' },
      interactive: false,
      parent: { pid: 4000, entity_id: 'fixture-parent', name: 'bash', executable: '/usr/bin/bash', args: ['bash'], command_line: 'bash' },
    },
    user: { id: '1000', name: 'user' },
    group: { id: '1000', name: 'user' },
    ebpf: { kind: 'exec', syscall: 'execve', process: { start_boot_ns: '500000000', parent_start_boot_ns: '100000000', comm: 'app' } },
  };
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Dotted keys → nested objects. */
function expandDotted(o: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) {
    const val = isObj(v) ? expandDotted(v) : v;
    const parts = k === '@timestamp' ? [k] : k.split('.');
    let cur = out;
    for (let i = 0; i < parts.length - 1; i++) {
      const p = parts[i]!;
      if (!isObj(cur[p])) cur[p] = {};
      cur = cur[p] as Obj;
    }
    const last = parts[parts.length - 1]!;
    cur[last] = isObj(val) && isObj(cur[last]) ? deepMerge(cur[last] as Obj, val) : val;
  }
  return out;
}

function deepMerge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObj(v) && isObj(out[k]) ? deepMerge(out[k] as Obj, v) : v;
  return out;
}

/** Build a complete event from a fixture's partial one. */
export function fixtureEvent(partial: Obj): SensorEvent {
  const given = expandDotted(partial);
  const ev = deepMerge(baseEvent() as unknown as Obj, given) as unknown as SensorEvent;
  const g = given as { event?: Obj; process?: Obj; ebpf?: Obj; user?: Obj };
  const kind = ev.ebpf.kind;
  if (g.event?.action === undefined) ev.event.action = endpointAction(ev);
  if (g.ebpf?.syscall === undefined) ev.ebpf.syscall = SYSCALLS_OF_KIND[kind]?.[0] ?? kind;
  if (ev.file?.path !== undefined) {
    const p = ev.file.path;
    const slash = p.lastIndexOf('/');
    ev.file.name ??= p.slice(slash + 1);
    ev.file.directory ??= slash > 0 ? p.slice(0, slash) : '/';
  }
  if (g.process?.executable !== undefined && g.process.name === undefined) {
    const exe = String(g.process.executable);
    ev.process.name = exe.slice(exe.lastIndexOf('/') + 1);
  }
  if (g.process?.args !== undefined && g.process.command_line === undefined) ev.process.command_line = (ev.process.args ?? []).join(' ');
  const pp = g.process?.parent as Obj | undefined;
  if (pp?.executable !== undefined && pp.name === undefined) {
    const exe = String(pp.executable);
    ev.process.parent.name = exe.slice(exe.lastIndexOf('/') + 1);
  }
  if (pp?.args !== undefined && pp.command_line === undefined) ev.process.parent.command_line = (ev.process.parent.args ?? []).join(' ');
  // process.user is the effective user, as are the top-level user fields.
  if ((g.process?.user as Obj | undefined)?.id !== undefined && g.user?.id === undefined) ev.user = { ...ev.process.user };
  if (g.user?.id !== undefined && (g.process?.user as Obj | undefined)?.id === undefined) ev.process.user = { ...ev.user };
  if (kind === 'exec' && ev.file === undefined && ev.process.executable !== undefined) {
    const p = ev.process.executable;
    const slash = p.lastIndexOf('/');
    ev.file = { path: p, name: p.slice(slash + 1), directory: slash > 0 ? p.slice(0, slash) : '/' };
  }
  return ev;
}

function testError(message: string, file: string, line?: number, column?: number): SensorError {
  return new SensorError('ESENSOR_RULE_TEST', message, { file, ...(line !== undefined ? { line, column: column ?? 1 } : {}) });
}

/** Parse one fixture file (YAML: {lists?, fixtures: […]}; NDJSON: one fixture per line). */
export function parseFixtureFile(file: string, text: string): FixtureFile {
  const out: FixtureFile = { file, lists: {}, fixtures: [] };
  let raw: Obj;
  const lines: number[] = [];
  if (file.endsWith('.ndjson') || file.endsWith('.jsonl')) {
    const fixtures: unknown[] = [];
    text.split('\n').forEach((l, i) => {
      if (!l.trim()) return;
      try {
        fixtures.push(JSON.parse(l));
        lines.push(i + 1);
      } catch (e) {
        throw testError(`invalid JSON: ${(e as Error).message}`, file, i + 1);
      }
    });
    raw = { fixtures };
  } else {
    const lc = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
    if (doc.errors.length) {
      const e = doc.errors[0]!;
      const p = lc.linePos(e.pos[0]);
      throw testError(`invalid YAML: ${e.message.split('\n')[0]}`, file, p.line, p.col);
    }
    raw = (yamlToJs(doc, lc, file, 'ESENSOR_RULE_TEST') ?? {}) as Obj;
    const fx = isMap(doc.contents) ? doc.contents.items.find((it) => isScalar(it.key) && it.key.value === 'fixtures')?.value : undefined;
    if (isSeq(fx)) for (const n of fx.items) lines.push(lc.linePos((n as YamlNode).range?.[0] ?? 0).line);
  }
  const v = validate();
  if (!v(raw)) {
    const e = v.errors![0]!;
    const idx = /^\/fixtures\/(\d+)/.exec(e.instancePath);
    const line = idx ? lines[Number(idx[1])] : undefined;
    throw testError(`${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`, file, line);
  }
  out.lists = (raw.lists ?? {}) as Record<string, string[]>;
  for (const [i, f] of ((raw.fixtures ?? []) as Obj[]).entries()) {
    const fx: Fixture = { name: String(f.name), event: fixtureEvent(f.event as Obj), file, line: lines[i] ?? 0 };
    if (f.expect !== undefined) fx.expect = f.expect as Fixture['expect'];
    if (f.match !== undefined) fx.match = f.match as string[];
    if (f.nomatch !== undefined) fx.nomatch = f.nomatch as string[];
    out.fixtures.push(fx);
  }
  return out;
}

/** Fixture files under a path: a file, a directory's *.yaml/*.yml/*.ndjson, or a rules directory's fixtures/. */
export function fixturePaths(path: string): string[] {
  const st = statSync(path);
  if (!st.isDirectory()) return [path];
  const sub = join(path, 'fixtures');
  let dir = path;
  try {
    if (statSync(sub).isDirectory()) dir = sub;
  } catch {
    // no fixtures/ subdirectory: the directory holds fixtures itself
  }
  return readdirSync(dir)
    .filter((f) => /\.(ya?ml|ndjson|jsonl)$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

export function loadFixtureFile(file: string): FixtureFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw testError(`cannot read fixture file: ${(e as Error).message}`, file);
  }
  return parseFixtureFile(file, text);
}

/** Rule ids a fixture names that the ruleset does not have (typos make tests pass vacuously). */
export function unknownRuleIds(f: Fixture, known: ReadonlySet<string>): string[] {
  const ids = [...(Array.isArray(f.expect) ? f.expect : []), ...(f.match ?? []), ...(f.nomatch ?? [])];
  return ids.filter((id) => !known.has(id));
}

/** Run one fixture. */
export function runFixture(f: Fixture, c: Classifier, known: ReadonlySet<string>): FixtureResult {
  const unknown = unknownRuleIds(f, known);
  const verdict: Verdict = c.classify(structuredClone(f.event));
  const got = verdict.matches.map((m) => m.id);
  if (unknown.length) return { fixture: f, pass: false, got, problem: `names unknown rule(s) ${unknown.join(', ')}` };
  const problems: string[] = [];
  if (f.expect === 'normal') {
    if (verdict.classification !== 'normal') problems.push('expected normal');
  } else if (f.expect !== undefined) {
    const want = [...f.expect].sort().join(',');
    if ([...got].sort().join(',') !== want) problems.push(`expected exactly [${f.expect.join(', ')}]`);
  }
  const missing = (f.match ?? []).filter((id) => !got.includes(id));
  if (missing.length) problems.push(`did not match ${missing.join(', ')}`);
  const extra = (f.nomatch ?? []).filter((id) => got.includes(id));
  if (extra.length) problems.push(`matched ${extra.join(', ')}`);
  return { fixture: f, pass: problems.length === 0, got, ...(problems.length ? { problem: problems.join('; ') } : {}) };
}
