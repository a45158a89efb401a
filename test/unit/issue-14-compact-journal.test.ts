// issue-14: journal format 3 stores an event once — its process only in the
// ECS line journaled with it (compact records) — and gives back the canonical
// event exactly: canonical → record → canonical is the identity (JSON's value,
// what a version 2 record gave) on random events of every kind with hostile
// strings (raw kernel bytes, U+2028/2029/0085, quotes, controls), huge argv,
// and every process shape the compact form cannot hold (which must fall back
// to the canonical JSON, not lose anything). Versions 1 and 2 stay readable.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import { rawEvents } from '../helpers/replay-fixtures.js';
import fc from 'fast-check';
import { Journal, ShippedRecord } from '../../src/journal/journal.js';
import { FORMAT_VERSION, SEGMENT_HEADER_BYTES, SH, crcOf } from '../../src/journal/format.js';
import { compactHead, compactHeadWalk, processFits } from '../../src/journal/compact-record.js';
import { journalSections, lineFormatter } from '../../src/pipeline/outputs.js';
import { ecsLine } from '../../src/normalize/ecs/ecs-serializer.js';
import type { ClassifiedEvent, LeaderRef, OutputFormat, RuleMatch } from '../../src/model/event.js';
import type { LineFormatter } from '../../src/sinks/sink.js';
import { corpus, HOST, AGENT } from '../helpers/normalize-corpus.js';
import { tempDir } from '../helpers/journal-fixtures.js';

const CLI = join(packageRoot, 'bin/ebpf-sensor.js');
const RUNS = Number(process.env.JOURNAL_PROPERTY_RUNS ?? 120);
const base = corpus();

const piece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'bin', '/usr/bin/', 'x y', '0', '1000', 'root', '.so', '-c', '"process":0') },
  {
    weight: 3,
    arbitrary: fc.constantFrom('\n', '\r', '"', '\\', '\t', '\u0000', '\u001f', '\u007f', '\u0085', '\u2028', '\u2029', '\ufeff', '\ufffd', '😀', 'é', '\ud800', '\udfff', '{"a":1}', ',"process":{}'),
  },
  // raw kernel bytes as decode keeps them (lone low surrogates)
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((b) => String.fromCharCode(0xdc00 + b)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
);
const text = fc.array(piece, { maxLength: 8 }).map((p) => p.join(''));
const args = fc.oneof({ weight: 5, arbitrary: fc.array(text, { maxLength: 6 }) }, { weight: 1, arbitrary: fc.array(text, { minLength: 300, maxLength: 2000 }) });
const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });

const change = fc.record({
  index: fc.nat({ max: base.length - 1 }),
  entity: fc.constantFrom('e1', 'e2', ''),
  name: opt(text),
  exe: opt(text),
  args: opt(args),
  argsCount: fc.constantFrom('same', 'more', 'none'),
  cwd: opt(text),
  userName: opt(text),
  // Mostly shapes the compact form holds; now and then one it must refuse (and store canonical).
  clean: fc.boolean(),
  savedName: fc.oneof({ weight: 8, arbitrary: fc.constant('same' as const) }, { weight: 1, arbitrary: fc.constantFrom('other' as const, 'none' as const) }),
  parentEntity: fc.oneof({ weight: 8, arbitrary: fc.constant('p1') }, { weight: 1, arbitrary: fc.constantFrom('', undefined) }),
  parentName: opt(text),
  parentArgs: opt(args),
  leaderArgs: opt(args),
  leaderName: opt(text),
  entryType: opt(fc.constantFrom('init' as const, 'sshd' as const)),
  caps: opt(fc.tuple(fc.constantFrom(0, 1, 2), fc.boolean())),
  previous: fc.oneof({ weight: 8, arbitrary: fc.nat({ max: 1 }) }, { weight: 1, arbitrary: fc.constant(2) }),
  previousArgs: opt(args),
  envVars: opt(args),
  exitCode: opt(fc.integer({ min: -1, max: 255 })),
  interactive: opt(fc.boolean()),
  tty: fc.boolean(),
  extraKey: fc.oneof({ weight: 12, arbitrary: fc.constant('none') }, { weight: 1, arbitrary: fc.constantFrom('process', 'parent', 'leader', 'thread') }),
  comm: opt(text),
  path: opt(text),
  matches: fc.nat({ max: 2 }),
  ruleText: text,
});

const CAP_SETS = [Object.freeze(['CAP_CHOWN', 'CAP_KILL']), Object.freeze([]), Object.freeze(['CAP_SYS_ADMIN', 'CAP_BPF\u2028'])] as const;

type Change = typeof change extends fc.Arbitrary<infer T> ? T : never;

const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|\ufffd/g;

/** With c.clean, no raw kernel bytes (nor U+FFFD, how ECS shows them): the strings stay hostile otherwise. */
function cleaned<T>(c: Change, v: T): T {
  if (!c.clean) return v;
  if (typeof v === 'string') return v.replace(LONE, 'x') as T;
  if (Array.isArray(v)) return v.map((x) => cleaned(c, x)) as T;
  return v;
}

function apply(raw: Change, seq: number): ClassifiedEvent {
  const c = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, cleaned(raw, v)])) as Change;
  const ce = structuredClone(base[c.index]!);
  ce.event.event.id = `id-${seq}`;
  const p = ce.event.process;
  p.entity_id = c.entity;
  if (c.name !== undefined) p.name = c.name;
  if (c.exe !== undefined) p.executable = c.exe;
  if (c.args !== undefined) {
    p.args = c.args;
    p.command_line = c.args.join(' ');
    if (c.argsCount === 'same') p.args_count = c.args.length;
    else if (c.argsCount === 'more') p.args_count = c.args.length + 3; // argv cut at the capture limit
    else delete p.args_count;
  }
  if (c.cwd !== undefined) p.working_directory = c.cwd;
  if (c.userName !== undefined) p.user = { id: p.user.id, name: c.userName };
  if (c.savedName === 'same') p.saved_user = { ...p.user };
  else if (c.savedName === 'other') p.saved_user = { id: p.user.id, name: 'someone-else' };
  else p.saved_user = { id: p.user.id };
  if (c.parentEntity === undefined) delete p.parent.entity_id;
  else p.parent.entity_id = c.parentEntity;
  if (c.parentName !== undefined) p.parent.name = c.parentName;
  if (c.parentArgs !== undefined) p.parent.args = c.parentArgs;
  if (c.leaderArgs !== undefined || c.leaderName !== undefined || c.entryType !== undefined) {
    const l: LeaderRef = { pid: 7, entity_id: `leader-${c.entity}` };
    if (c.leaderName !== undefined) l.name = c.leaderName;
    if (c.leaderArgs !== undefined) l.args = c.leaderArgs;
    l.user = { id: p.user.id };
    p.session_leader = l;
    p.group_leader = { ...l, pid: p.pid, entity_id: p.entity_id };
    p.entry_leader = c.entryType !== undefined ? { ...l, entry_meta: { type: c.entryType } } : { pid: 1 };
  }
  if (c.caps !== undefined) {
    const [i, frozen] = c.caps;
    const e = CAP_SETS[i]!;
    const pm = CAP_SETS[i === 1 ? 1 : (i + 1) % 3]!;
    p.thread.capabilities = frozen ? { effective: e as string[], permitted: pm as string[] } : { effective: e.slice(), permitted: pm.slice() };
  }
  if (c.previous > 0) {
    p.previous = [];
    for (let i = 0; i < c.previous; i++) p.previous.push({ executable: `/bin/prev${i}`, ...(c.previousArgs ? { args: c.previousArgs } : {}) });
  }
  if (c.envVars !== undefined) p.env_vars = c.envVars;
  if (c.exitCode !== undefined) p.exit_code = c.exitCode;
  if (c.interactive !== undefined) p.interactive = c.interactive;
  if (c.tty) p.tty = { char_device: { major: 136, minor: 3 } };
  const extra = { note: 'a member the compact form does not know' };
  if (c.extraKey === 'process') Object.assign(p, extra);
  else if (c.extraKey === 'parent') Object.assign(p.parent, extra);
  else if (c.extraKey === 'leader' && p.session_leader) Object.assign(p.session_leader, extra);
  else if (c.extraKey === 'thread') Object.assign(p.thread, extra);
  if (c.comm !== undefined) (ce.event.ebpf.process ??= {}).comm = c.comm;
  if (c.path !== undefined && ce.event.file) ce.event.file.path = c.path;
  if (c.matches > 0) {
    const matches: RuleMatch[] = [];
    for (let i = 0; i < c.matches; i++) {
      matches.push({ id: `r${i}`, name: c.ruleText, description: c.ruleText, severity: 'high', tags: ['T1059.004'], message: c.ruleText, ruleset: 'site', version: '1', action: 'alert' });
    }
    ce.verdict = { classification: 'suspicious', matches };
  }
  return ce;
}

/** What a version 2 record gave back: JSON's value of the event. */
const asJson = (ce: ClassifiedEvent): unknown => JSON.parse(JSON.stringify(ce));

function formats(withCef: boolean): Map<OutputFormat, LineFormatter> {
  const m = new Map<OutputFormat, LineFormatter>([['ecs', lineFormatter('ecs', HOST, AGENT)]]);
  if (withCef) m.set('cef', lineFormatter('cef', HOST, AGENT));
  return m;
}

test('issue-14: canonical → compact journal record → canonical is the identity on random hostile events of every kind', () => {
  const { dir, cleanup } = tempDir('issue14-compact-');
  const j = Journal.open(dir, { fsyncIntervalMs: 0 });
  let seq = 0;
  try {
    const d = fc.check(
      fc.property(fc.array(change, { minLength: 1, maxLength: 10 }), fc.boolean(), (changes, withCef) => {
        const batch = changes.map((c) => apply(c, seq++));
        for (const ce of batch) {
          // The head from one stringify with the process swapped out is the member-by-member walk's, byte for byte.
          if (processFits(ce.event.process)) assert.equal(compactHead(ce), compactHeadWalk(ce));
          assert.equal(typeof ce.event.process, 'object'); // put back
        }
        const { first, next } = j.append(batch, journalSections(formats(withCef)));
        const plain = j.reader(first).read(next - first, 1 << 30).records;
        const shipped = j.reader(first, { ship: true }).read(next - first, 1 << 30).records;
        assert.equal(plain.length, batch.length);
        assert.equal(shipped.length, batch.length);
        batch.forEach((ce, i) => {
          const want = asJson(ce);
          assert.deepStrictEqual(plain[i]!.event, want);
          const s = shipped[i]!;
          assert.ok(s instanceof ShippedRecord);
          assert.equal(s.ship.shipped!('ecs')!.toString('utf8'), ecsLine(ce, HOST, AGENT));
          assert.deepStrictEqual(s.event, want);
        });
      }),
      { numRuns: RUNS },
    );
    if (d.failed) assert.fail(`seed ${d.seed}, path ${d.counterexamplePath}: ${(d.errorInstance as Error)?.message}`);
    // Both forms were written: the compact one, and the canonical one for what it cannot hold.
    const st = j.stats().appended;
    assert.ok(st.compact > 0, 'no compact record written');
    assert.ok(st.compact < st.records, 'no canonical record written');
  } finally {
    void j.close();
    cleanup();
  }
});

test('issue-14: every corpus event (each kind) is stored compact with an ECS line and read back exactly; without one, canonical', async () => {
  const { dir, cleanup } = tempDir('issue14-compact-');
  try {
    const j = Journal.open(dir, { fsyncIntervalMs: 0 });
    const batch = base.map((ce, i) => ({ ...structuredClone(ce), event: { ...structuredClone(ce.event), event: { ...ce.event.event, id: `c-${i}` } } }));
    for (const ce of batch) assert.ok(processFits(ce.event.process), `${ce.event.ebpf.kind}: the decoded/enriched process shape must fit the compact form`);
    j.append(batch, journalSections(formats(true)));
    assert.equal(j.stats().appended.compact, batch.length);
    j.append(batch); // no sections: no ECS line to lean on
    assert.equal(j.stats().appended.compact, batch.length);
    const back = [...j.reader(j.firstPosition)];
    assert.equal(back.length, 2 * batch.length);
    back.forEach((r, i) => assert.deepStrictEqual(r.event, asJson(batch[i % batch.length]!)));
    // The compact payloads do hold the process once: in the ECS line, not in the head.
    await j.close();
    const seg = readdirSync(dir).find((f) => f.endsWith('.seg'))!;
    const bytes = readFileSync(join(dir, seg));
    assert.equal(bytes.readUInt16LE(SH.version), FORMAT_VERSION);
    assert.equal(FORMAT_VERSION, 4);
    // Each process once: in the ECS line of a compact record, in the JSON of a canonical one.
    const text = bytes.toString('utf8');
    assert.equal(text.split('"parent":{"pid":').length - 1, 2 * batch.length);
  } finally {
    cleanup();
  }
});

test('issue-14: a version 2 segment (canonical JSON first in every record) is still read after the bumps to versions 3 and 4', async () => {
  const { dir, cleanup } = tempDir('issue14-v2-');
  try {
    const batch = base.slice(0, 6);
    const j = Journal.open(dir, { fsyncIntervalMs: 0 });
    j.append(batch); // canonical records only: byte for byte what version 2 wrote
    await j.close();
    const seg = join(dir, readdirSync(dir).find((f) => f.endsWith('.seg'))!);
    const b = readFileSync(seg);
    b.writeUInt16LE(2, SH.version);
    b.writeUInt32LE(crcOf(b, 0, SH.crc), SH.crc);
    writeFileSync(seg, b);
    const r = Journal.open(dir, { readOnly: true });
    assert.deepStrictEqual(
      [...r.reader(0)].map((x) => x.event),
      batch.map(asJson),
    );
    await r.close();
    // A writer appends after a version 2 tail in a new segment of the current version.
    const w = Journal.open(dir, { fsyncIntervalMs: 0 });
    w.append(batch.slice(0, 2), journalSections(formats(false)));
    await w.close();
    assert.equal(readdirSync(dir).filter((f) => f.endsWith('.seg')).length, 2);
    const all = Journal.open(dir, { readOnly: true });
    assert.deepStrictEqual(
      [...all.reader(0)].map((x) => x.event),
      [...batch, ...batch.slice(0, 2)].map(asJson),
    );
    await all.close();
    assert.ok(SEGMENT_HEADER_BYTES > 0);
  } finally {
    cleanup();
  }
});

test('issue-14: replay and journal export give the same bytes from compact records as from canonical ones', async () => {
  const { dir, cleanup } = tempDir('issue14-replay-');
  try {
    const events = [...base.map((ce) => ce.event), ...rawEvents(14, 600, 0.7)].map((ev, i) => ({
      event: { ...structuredClone(ev), event: { ...ev.event, id: `r-${i}`, sequence: i } },
      verdict: { classification: 'normal' as const, matches: [] },
    }));
    const compactDir = join(dir, 'compact');
    const canonicalDir = join(dir, 'canonical');
    const a = Journal.open(compactDir, { fsyncIntervalMs: 0 });
    a.append(events, journalSections(formats(true)));
    assert.ok(a.stats().appended.compact > events.length / 2, `${a.stats().appended.compact} of ${events.length} compact`);
    await a.close();
    const b = Journal.open(canonicalDir, { fsyncIntervalMs: 0 });
    b.append(events);
    assert.equal(b.stats().appended.compact, 0);
    await b.close();
    const cli = (args: string[]): void => {
      const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, EBPF_SENSOR_LOG_LEVEL: 'warn' } });
      assert.equal(r.status, 0, r.stderr);
    };
    for (const format of ['ecs', 'cef']) {
      const outs = [compactDir, canonicalDir].map((j, n) => {
        const out = join(dir, `${format}-${n}.out`);
        cli(['replay', j, '--format', format, '-o', `file:${out}`]);
        return readFileSync(out);
      });
      assert.ok(outs[0]!.length > 50_000);
      assert.ok(outs[0]!.equals(outs[1]!), `${format}: replay of the compact journal differs from the canonical one`);
    }
    // journal export: the captures replay to the same documents too.
    const outs = [compactDir, canonicalDir].map((j, n) => {
      const cap = join(dir, `export-${n}.capture.gz`);
      cli(['journal', 'export', '--journal', j, '-o', cap]);
      const out = join(dir, `export-${n}.out`);
      cli(['replay', cap, '-o', `file:${out}`]);
      return readFileSync(out);
    });
    assert.ok(outs[0]!.equals(outs[1]!), 'replay of the exported captures differs');
  } finally {
    cleanup();
  }
});

test('issue-14: records read to ship are views of the read chunk, never overwritten by later reads', async () => {
  const { dir, cleanup } = tempDir('issue14-views-');
  try {
    const j = Journal.open(dir, { fsyncIntervalMs: 0 });
    const batch = Array.from({ length: 600 }, (_, i) => {
      const ce = structuredClone(base[i % base.length]!);
      ce.event.event.id = `v-${i}`;
      return ce;
    });
    j.append(batch, journalSections(formats(true)));
    // Small chunks: the scanner refills many times while earlier records are still held.
    const reader = j.reader(j.firstPosition, { ship: true, chunkBytes: 16 << 10 });
    const kept: ShippedRecord[] = [];
    for (let r = reader.read(7, 1 << 30); r.records.length; r = reader.read(7, 1 << 30)) kept.push(...(r.records as ShippedRecord[]));
    assert.equal(kept.length, batch.length);
    const lines = kept.map((k) => k.ship.shipped!('ecs')!);
    // Several records share one chunk (no copy per record)…
    assert.ok(new Set(lines.map((l) => l.buffer)).size < kept.length / 3);
    // …and every one still holds its own bytes after all the reads that came after it.
    kept.forEach((k, i) => {
      assert.equal(lines[i]!.toString('utf8'), ecsLine(batch[i]!, HOST, AGENT));
      assert.equal(k.ship.route!.id, `v-${i}`);
      assert.deepStrictEqual(k.event, asJson(batch[i]!));
    });
    reader.close();
    await j.close();
  } finally {
    cleanup();
  }
});

test('issue-14: the compact head (one stringify, process swapped out) equals the member walk; a frozen event takes the walk and stays untouched', () => {
  let n = 0;
  for (const ce of base) {
    if (!processFits(ce.event.process)) continue;
    n++;
    const before = JSON.stringify(ce);
    const p = ce.event.process;
    assert.equal(compactHead(ce), compactHeadWalk(ce));
    assert.equal(ce.event.process, p);
    assert.equal(JSON.stringify(ce), before);
    const frozen = structuredClone(ce);
    Object.freeze(frozen.event);
    assert.equal(compactHead(frozen), compactHeadWalk(ce));
    // A member before and after process keeps its place: the head holds process where the event has it.
    const keys = Object.keys(ce.event);
    const head = JSON.parse(compactHead(ce).slice(1)) as { event: Record<string, unknown> };
    assert.deepEqual(Object.keys(head.event), keys);
  }
  assert.ok(n > 5, 'too few corpus events fit the compact form');
});

test('issue-14: a process without its thread, real or saved ids or parent does not fit the compact form (missing or undefined)', () => {
  const fit = base.find((ce) => processFits(ce.event.process))!;
  assert.ok(fit);
  for (const k of ['thread', 'real_user', 'real_group', 'saved_user', 'saved_group', 'parent'] as const) {
    const gone = structuredClone(fit.event.process) as unknown as Record<string, unknown>;
    delete gone[k];
    assert.equal(processFits(gone as never), false, `without ${k}`);
    const undef = structuredClone(fit.event.process) as unknown as Record<string, unknown>;
    undef[k] = undefined;
    assert.equal(processFits(undef as never), false, `${k} undefined`);
  }
  assert.equal(processFits(structuredClone(fit.event.process)), true);
});
