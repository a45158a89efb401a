// issue-14: journal format 4 — a compact record's head leaves to its ECS line
// every member that line holds exactly (ebpf, @timestamp, event, user, group,
// file: journal/head-elision.ts), and the reader puts them back: canonical →
// record → canonical is the identity, key order included (but inside
// `process`, whose order compact-record.ts documents), on random hostile
// events — non-UTF-8, U+2028, huge and odd numbers, u64 strings, alerts with
// several rules, kills, ebpf.process members in any order with comm/fsuid/
// fsgid repeating the process or not, and every shape that must stay in the
// head. Records of format 3 (the head with its ebpf) still read.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { Journal, ShippedRecord } from '../../src/journal/journal.js';
import { SEGMENT_HEADER_BYTES, SH, RECORD_HEADER_BYTES as HDR, crcOf, sealRecord, segmentName, writeSegmentHeader } from '../../src/journal/format.js';
import { compactJson, compactHeadWalk, flagsOf, headFlags, processFits } from '../../src/journal/compact-record.js';
import { ELIDE_CONTAINER, ELIDE_DESTINATION, ELIDE_EBPF, ELIDE_EVENT, ELIDE_FILE, ELIDE_GROUP, ELIDE_SOURCE, ELIDE_TIME, ELIDE_USER, elisionsOf } from '../../src/journal/head-elision.js';
import { writeCompactHead } from '../../src/journal/head-bytes.js';
import { encodeSections, readEvent } from '../../src/journal/payload.js';
import { journalSections, lineFormatter } from '../../src/pipeline/outputs.js';
import { ecsLine } from '../../src/normalize/ecs/ecs-serializer.js';
import type { ClassifiedEvent, OutputFormat } from '../../src/model/event.js';
import type { LineFormatter } from '../../src/sinks/sink.js';
import { HOST, AGENT } from '../helpers/normalize-corpus.js';
import { tempDir } from '../helpers/journal-fixtures.js';
import { apply, base, change, text } from '../helpers/hostile-events.js';

const RUNS = Number(process.env.JOURNAL_PROPERTY_RUNS ?? 150);
type Obj = Record<string, unknown>;

/** The event as JSON, `event.process` with its members sorted (its order is compact-record.ts's): everything else in its own order. */
function ordered(ce: unknown): string {
  const j = JSON.parse(JSON.stringify(ce)) as { event: Obj };
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (typeof v !== 'object' || v === null) return v;
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Obj)[k])]));
  };
  j.event.process = sort(j.event.process);
  return JSON.stringify(j);
}

function formats(withCef: boolean): Map<OutputFormat, LineFormatter> {
  const m = new Map<OutputFormat, LineFormatter>([['ecs', lineFormatter('ecs', HOST, AGENT)]]);
  if (withCef) m.set('cef', lineFormatter('cef', HOST, AGENT));
  return m;
}

class Odd {
  a = 1;
}

/** Values JSON and the ECS serializer write alike (floats, -0, NaN, ±Infinity, 2^64, u64 strings, nesting with undefined). */
const jsonish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.double(),
    fc.constantFrom(-0, 2 ** 64, Number.MAX_SAFE_INTEGER + 2, 1e21, 5e-324, NaN, Infinity),
    fc.integer(),
    fc.constantFrom('18446744073709551615', '0', ''),
    text,
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.oneof(tie('v'), fc.constant(undefined)), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'c\u2028', 'd"'), fc.oneof(tie('v'), fc.constant(undefined)), { maxKeys: 3 }),
  ),
})).v;

/** Shapes that must stay in the head (or refuse elision of their member). */
const ODD = ['date', 'toJSON', 'class', 'rules', 'kill', 'raw_bytes', 'proto', 'procArray', 'procProto', 'hiddenUser', 'hiddenFile', 'none'] as const;

const shape = fc.record({
  change,
  // Mostly without raw kernel bytes and U+FFFD (else the ECS line shows them as U+FFFD and the record is canonical): the strings stay hostile otherwise.
  clean: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  // ebpf.process: members shuffled; comm/fsuid/fsgid equal to process.name and the effective ids (the ECS line drops them) or not
  order: fc.array(fc.nat(), { minLength: 16, maxLength: 16 }),
  comm: fc.constantFrom('same', 'other', 'none'),
  fsuid: fc.constantFrom('same', 'other', 'none'),
  fsgid: fc.constantFrom('same', 'other', 'none'),
  extra: fc.option(jsonish, { nil: undefined }),
  procExtra: fc.option(jsonish, { nil: undefined }),
  odd: fc.oneof({ weight: 10, arbitrary: fc.constant('none' as const) }, { weight: 1, arbitrary: fc.constantFrom(...ODD) }),
  eventOrder: fc.oneof({ weight: 8, arbitrary: fc.constant('as is') }, { weight: 1, arbitrary: fc.constantFrom('swapped', 'extra', 'number id') }),
  time: fc.oneof({ weight: 8, arbitrary: fc.constant('string') }, { weight: 1, arbitrary: fc.constantFrom('number', 'missing') }),
  user: fc.oneof({ weight: 8, arbitrary: fc.constant('as is') }, { weight: 1, arbitrary: fc.constantFrom('name first', 'extra', 'no name') }),
  file: fc.oneof({ weight: 6, arbitrary: fc.constant('as is') }, { weight: 1, arbitrary: fc.constantFrom('reversed', 'number', 'extra', 'type+mode') }),
  container: fc.constantFrom('as is', 'none', 'full', 'name first', 'number'),
  source: fc.option(fc.record({ address: fc.option(text, { nil: undefined }), ip: fc.option(text, { nil: undefined }), port: fc.option(fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.constant(-0)), { nil: undefined }) }), { nil: undefined }),
  endpointOdd: fc.constantFrom('as is', 'as is', 'as is', 'port first', 'port string'),
});

type Shape = typeof shape extends fc.Arbitrary<infer T> ? T : never;

const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|\ufffd/g;

/** A copy of `v` with no lone surrogate nor U+FFFD in its strings. */
function cleaned(v: unknown): unknown {
  if (typeof v === 'string') return v.replace(LONE, 'x');
  if (Array.isArray(v)) return v.map(cleaned);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cleaned(x)]));
}

function make(s: Shape, seq: number): ClassifiedEvent {
  const ce = s.clean ? (cleaned(apply(s.change)) as ClassifiedEvent) : apply(s.change);
  const ev = ce.event;
  ev.event.id = `h-${seq}`;
  const p = ev.process;
  const f = ev.ebpf as unknown as Obj;
  const pf = { ...(f.process as Obj | undefined) };
  const pick = (how: string, same: string, k: string): void => {
    if (how === 'same') pf[k] = same;
    else if (how === 'other') pf[k] = `${same}x`;
    else delete pf[k];
  };
  pick(s.comm, p.name, 'comm');
  pick(s.fsuid, p.user.id, 'fsuid');
  pick(s.fsgid, p.group.id, 'fsgid');
  if (s.procExtra !== undefined) pf.odd_fact = s.procExtra;
  const keys = Object.keys(pf);
  for (let i = keys.length - 1; i > 0; i--) {
    const j = s.order[i]! % (i + 1);
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
  f.process = Object.fromEntries(keys.map((k) => [k, pf[k]]));
  if (s.extra !== undefined) f.extra_fact = s.extra;
  switch (s.odd) {
    case 'date':
      f.when = new Date(0);
      break;
    case 'toJSON':
      f.custom = { x: 1, toJSON: () => 'custom' };
      break;
    case 'class':
      f.custom = new Odd();
      break;
    case 'rules':
    case 'kill':
    case 'raw_bytes':
      f[s.odd] = { not: 'the ECS block own' };
      break;
    case 'proto':
      Object.defineProperty(f, '__proto__', { value: 'x', enumerable: true, writable: true, configurable: true });
      break;
    case 'procArray':
      f.process = ['a', 'b'];
      break;
    case 'procProto':
      Object.defineProperty(f.process as Obj, '__proto__', { value: 7, enumerable: true, writable: true, configurable: true });
      break;
    case 'hiddenUser': // JSON leaves it out, the ECS line writes it: the record must not add it
      Object.defineProperty(ev, 'user', { enumerable: false });
      break;
    case 'hiddenFile':
      if (ev.file) Object.defineProperty(ev, 'file', { enumerable: false });
      break;
    default:
  }
  const e = ev.event as unknown as Obj;
  if (s.eventOrder === 'swapped') ev.event = { sequence: ev.event.sequence, id: ev.event.id, action: ev.event.action, outcome: ev.event.outcome } as typeof ev.event;
  else if (s.eventOrder === 'extra') e.note = 'x';
  else if (s.eventOrder === 'number id') e.sequence = 1.5;
  if (s.time === 'number') (ev as unknown as Obj)['@timestamp'] = 17;
  // (a missing @timestamp is not an event the ECS writer takes: left as is)
  if (s.user === 'name first') ev.user = { name: 'root', id: '0' } as typeof ev.user;
  else if (s.user === 'extra') (ev.user as unknown as Obj).extra = 'x';
  else if (s.user === 'no name') ev.group = { id: ev.group.id };
  const file = ev.file as Obj | undefined;
  if (file) {
    if (s.file === 'reversed') ev.file = Object.fromEntries(Object.entries(file).reverse()) as unknown as typeof ev.file;
    else if (s.file === 'number') file.inode = 12;
    else if (s.file === 'extra') file.hash = 'x';
    else if (s.file === 'type+mode') {
      file.type = 'dir';
      file.mode = '0755';
    }
  }
  if (s.container === 'none') delete ev.container;
  else if (s.container === 'full') ev.container = { id: 'c1', runtime: 'containerd', name: 'web' };
  else if (s.container === 'name first') ev.container = { id: 'c1', name: 'web', runtime: 'docker' };
  else if (s.container === 'number') ev.container = { id: 7 as unknown as string };
  if (s.source !== undefined) {
    const { address, ip, port } = s.source;
    ev.source = {};
    if (s.endpointOdd === 'port first' && port !== undefined) ev.source.port = port;
    if (address !== undefined) ev.source.address = address;
    if (ip !== undefined) ev.source.ip = ip;
    if (s.endpointOdd !== 'port first' && port !== undefined) (ev.source as Obj).port = s.endpointOdd === 'port string' ? String(port) : port;
    ev.destination = { ip: '10.0.0.1', port: 443 };
  }
  return ce;
}

/** The member JSON and the ECS writer both accept (a number inode: q() throws; a file extra: the serializer skips it — both still round-trip). */
function writable(ce: ClassifiedEvent): boolean {
  try {
    ecsLine(ce, HOST, AGENT);
    JSON.stringify(ce);
    return true;
  } catch {
    return false;
  }
}

test('issue-14 format 4: canonical → compact record → canonical is the identity, key order included, on random hostile events', () => {
  const { dir, cleanup } = tempDir('issue14-elide-');
  const j = Journal.open(dir, { fsyncIntervalMs: 0 });
  let seq = 0;
  const seen = { ebpf: 0, kept: 0, time: 0, event: 0, user: 0, file: 0, container: 0, source: 0, destination: 0 };
  try {
    const d = fc.check(
      fc.property(fc.array(shape, { minLength: 1, maxLength: 8 }), fc.boolean(), (shapes, withCef) => {
        const batch = shapes.map((s) => make(s, seq++)).filter(writable);
        if (batch.length === 0) return;
        for (const ce of batch) {
          if (!processFits(ce.event.process)) continue;
          const line = ecsLine(ce, HOST, AGENT);
          if (line.includes('\ufffd') || line.includes('\n')) continue; // a canonical record
          const flags = headFlags(ce);
          if (flags & ELIDE_EBPF) seen.ebpf++;
          else seen.kept++;
          if (flags & ELIDE_TIME) seen.time++;
          if (flags & ELIDE_EVENT) seen.event++;
          if (flags & ELIDE_USER && flags & ELIDE_GROUP) seen.user++;
          if (flags & ELIDE_FILE) seen.file++;
          if (flags & ELIDE_CONTAINER) seen.container++;
          if (flags & ELIDE_SOURCE) seen.source++;
          if (flags & ELIDE_DESTINATION) seen.destination++;
          // The three writers agree: the swap, the walk, the bytes (or the bytes leave it to the swap).
          const json = compactJson(ce);
          assert.equal(json, compactHeadWalk(ce).slice(1));
          const buf = Buffer.alloc(1 << 20);
          const end = writeCompactHead(buf, 0, ce, flags);
          if (end >= 0) assert.equal(buf.toString('utf8', 0, end), json);
          // Put back after the swap.
          assert.equal(typeof ce.event.ebpf, 'object');
          assert.equal(typeof ce.event.event, 'object');
        }
        const { first, next } = j.append(batch, journalSections(formats(withCef)));
        const plain = j.reader(first).read(next - first, 1 << 30).records;
        const shipped = j.reader(first, { ship: true }).read(next - first, 1 << 30).records;
        assert.equal(plain.length, batch.length);
        batch.forEach((ce, i) => {
          const want = ordered(ce);
          assert.equal(ordered(plain[i]!.event), want);
          const s = shipped[i]!;
          assert.ok(s instanceof ShippedRecord);
          assert.equal(ordered(s.event), want);
          assert.equal(s.ship.shipped!('ecs')!.toString('utf8'), ecsLine(ce, HOST, AGENT));
        });
      }),
      { numRuns: RUNS },
    );
    if (d.failed) assert.fail(`seed ${d.seed}, path ${d.counterexamplePath}: ${(d.errorInstance as Error)?.message}`);
    const st = j.stats().appended;
    assert.ok(st.compact > st.records / 10, `${st.compact} of ${st.records} records compact`);
    // Both ways were taken for each member: left to the ECS line, and kept in the head.
    assert.ok(seen.ebpf > 0 && seen.kept > 0, JSON.stringify(seen));
    assert.ok(Object.values(seen).every((n) => n > 0), JSON.stringify(seen));
  } finally {
    void j.close();
    cleanup();
  }
});

test('issue-14 format 4: each shape the ECS line does not hold exactly keeps its member in the head', () => {
  const ce = structuredClone(base.find((e) => e.event.file && e.event.ebpf.process)!);
  const all = elisionsOf(ce.event);
  assert.equal(all & (ELIDE_EBPF | ELIDE_TIME | ELIDE_EVENT | ELIDE_USER | ELIDE_GROUP | ELIDE_FILE), ELIDE_EBPF | ELIDE_TIME | ELIDE_EVENT | ELIDE_USER | ELIDE_GROUP | ELIDE_FILE);
  const without = (f: (c: ClassifiedEvent) => void, bit: number, why: string): void => {
    const c = structuredClone(ce);
    f(c);
    assert.equal(elisionsOf(c.event) & bit, 0, why);
  };
  const facts = (c: ClassifiedEvent): Obj => c.event.ebpf as unknown as Obj;
  without((c) => (facts(c).n = 10n), ELIDE_EBPF, 'a bigint');
  without((c) => (facts(c).d = new Date(0)), ELIDE_EBPF, 'a Date');
  without((c) => (facts(c).o = { toJSON: () => 1 }), ELIDE_EBPF, 'a toJSON');
  without((c) => (facts(c).o = Object.create({ inherited: 1 }) as object), ELIDE_EBPF, 'a class instance');
  for (const k of ['rules', 'kill', 'raw_bytes']) without((c) => (facts(c)[k] = 1), ELIDE_EBPF, `a member named ${k}`);
  without((c) => (facts(c).process = []), ELIDE_EBPF, 'ebpf.process an array');
  without((c) => Object.defineProperty(facts(c), '__proto__', { value: 1, enumerable: true }), ELIDE_EBPF, '__proto__');
  without((c) => (c.event['@timestamp'] = 1 as unknown as string), ELIDE_TIME, '@timestamp a number');
  without((c) => ((c.event.event as unknown as Obj).extra = 1), ELIDE_EVENT, 'a member ECS event does not take back');
  without((c) => (c.event.user = { name: 'n', id: '0' } as typeof c.event.user), ELIDE_USER, 'name before id');
  without((c) => ((c.event.group as unknown as Obj).x = 'y'), ELIDE_GROUP, 'a group member ECS leaves out');
  without((c) => ((c.event.file as unknown as Obj).hash = 'x'), ELIDE_FILE, 'a file member ECS leaves out');
  without((c) => (c.event.file = Object.fromEntries(Object.entries(c.event.file!).reverse()) as typeof c.event.file), ELIDE_FILE, 'file members out of ECS order');
  without((c) => (c.event.container = { id: 'c', name: 'n', runtime: 'r' }), ELIDE_CONTAINER, 'container name before runtime');
  without((c) => (c.event.container = { runtime: 'r' } as typeof c.event.container), ELIDE_CONTAINER, 'container without id');
  without((c) => (c.event.source = { port: 1, ip: '::1' }), ELIDE_SOURCE, 'port before ip');
  without((c) => (c.event.destination = { ip: '::1', port: '1' as unknown as number }), ELIDE_DESTINATION, 'a port as a string');
  // An enumerable member on Object.prototype: nothing is left out.
  (Object.prototype as Obj).polluted = 1;
  try {
    assert.equal(elisionsOf(ce.event), 0);
  } finally {
    delete (Object.prototype as Obj).polluted;
  }
});

test('issue-14 format 4: every corpus kind leaves ebpf, @timestamp and event to the ECS line: the head is shorter by their text', () => {
  for (const ce of base) {
    const flags = headFlags(ce);
    assert.ok(flags & ELIDE_EBPF && flags & ELIDE_TIME && flags & ELIDE_EVENT, `${ce.event.ebpf.kind}: ${flags}`);
    const head = compactJson(ce);
    assert.ok(!head.includes('"ebpf":{') && !head.includes(ce.event['@timestamp']), `${ce.event.ebpf.kind}: ${head}`);
    const v3 = compactJson(ce, flagsOf(ce.event.process));
    const saved = JSON.stringify(ce.event.ebpf).length + JSON.stringify(ce.event.event).length + ce.event['@timestamp'].length;
    assert.ok(v3.length - head.length >= saved, `${ce.event.ebpf.kind}: ${v3.length} → ${head.length}`);
  }
});

test('issue-14 format 4: a format 3 segment (compact heads holding their ebpf) still reads, and a writer appends after it in a format 4 segment', async () => {
  const { dir, cleanup } = tempDir('issue14-v3-');
  try {
    const batch = base.map((ce, i) => {
      const c = structuredClone(ce);
      c.event.event.id = `v3-${i}`;
      return c;
    });
    // The journal makes the directory and its first segment; that segment is then replaced by one written as format 3 wrote it.
    const j = Journal.open(dir, { fsyncIntervalMs: 0 });
    await j.close();
    const parts: Buffer[] = [];
    const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
    writeSegmentHeader(header, 0, Date.now());
    header.writeUInt16LE(3, SH.version);
    header.writeUInt32LE(crcOf(header, 0, SH.crc), SH.crc);
    parts.push(header);
    batch.forEach((ce, i) => {
      // Format 3's head: the event with its process swapped for the process's flags, nothing else left out.
      const payload = Buffer.from(`R${compactJson(ce, flagsOf(ce.event.process))}${encodeSections(ce, [['ecs', ecsLine(ce, HOST, AGENT)]])}`, 'utf8');
      assert.ok(payload.includes('"ebpf":{'));
      const rec = Buffer.alloc(HDR + payload.length);
      payload.copy(rec, HDR);
      sealRecord(rec, 0, payload.length, i, 1_700_000_000_000);
      parts.push(rec);
      assert.equal(ordered(readEvent(payload, 0, payload.length).event), ordered(ce));
    });
    assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.seg')), [segmentName(0)]);
    writeFileSync(join(dir, segmentName(0)), Buffer.concat(parts));
    const r = Journal.open(dir, { readOnly: true });
    assert.deepStrictEqual(
      [...r.reader(0)].map((x) => ordered(x.event)),
      batch.map(ordered),
    );
    const shipped = r.reader(0, { ship: true }).read(batch.length, 1 << 30).records;
    assert.deepStrictEqual(
      shipped.map((x) => ordered(x.event)),
      batch.map(ordered),
    );
    await r.close();
    const w = Journal.open(dir, { fsyncIntervalMs: 0 });
    w.append(batch.slice(0, 3), journalSections(formats(false)));
    await w.close();
    assert.equal(readdirSync(dir).filter((f) => f.endsWith('.seg')).length, 2);
    const all = Journal.open(dir, { readOnly: true });
    assert.deepStrictEqual(
      [...all.reader(0)].map((x) => ordered(x.event)),
      [...batch, ...batch.slice(0, 3)].map(ordered),
    );
    await all.close();
  } finally {
    cleanup();
  }
});
