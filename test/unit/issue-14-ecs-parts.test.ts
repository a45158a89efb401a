// issue-14: the ECS line is journaled from its parts (ecsParts: its cached
// fragments, written one by one into the record, never joined into one
// string), with its LF and U+FFFD facts taken from the serializer instead of
// a scan, and the routing section is written without JSON.stringify. These
// tests hold the journal records byte for byte equal to the ones written
// through the string path (the ECS line as one string, scanned; the routing
// section by JSON.stringify, as before) on random hostile events: raw bytes,
// U+FFFD, U+2028/2029, LF in paths and names, huge argv, hostile ids.
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RecordEncoder } from '../../src/journal/record-encoder.js';
import { encodeSections, type EventSections, type SectionLine } from '../../src/journal/payload.js';
import { journalSections, lineFormatter } from '../../src/pipeline/outputs.js';
import { ecsLine, ecsParts } from '../../src/normalize/ecs/ecs-serializer.js';
import { toCef } from '../../src/normalize/cef/cef.js';
import { topSeverity, type ClassifiedEvent, type OutputFormat } from '../../src/model/event.js';
import type { LineFormatter } from '../../src/sinks/sink.js';
import { HOST, AGENT } from '../helpers/normalize-corpus.js';
import { apply, base, change, text } from '../helpers/hostile-events.js';

const RUNS = Number(process.env.NORMALIZE_PROPERTY_RUNS ?? 150);
const TIME = 1_765_000_000_000;

/** The routing section as it was written before (JSON.stringify of each string): the reference. */
function routeByStringify(ce: ClassifiedEvent): string {
  const ev = ce.event;
  const flags = (ce.verdict.classification === 'suspicious' ? 1 : 0) | (ev.ebpf.kind === 'loss' ? 2 : 0);
  const sev = topSeverity(ce.verdict) ?? '';
  return `\nM[${flags},${JSON.stringify(ev.event.id)},${JSON.stringify(ev.process.entity_id ?? '')},${Number.isFinite(ev.process.pid) ? ev.process.pid : 0},${JSON.stringify(ev['@timestamp'])},"${sev}"]`;
}

/** The string path: every line one string (ecsLine, toCef), a new sections object per event. */
function stringSections(withCef: boolean): (ce: ClassifiedEvent) => EventSections {
  return (ce) => {
    const lines: Array<[OutputFormat, SectionLine]> = [['ecs', ecsLine(ce, HOST, AGENT)]];
    if (withCef) lines.push(['cef', toCef(ce, HOST, AGENT)]);
    return { route: routeByStringify(ce), lines };
  };
}

function partsSections(withCef: boolean): (ce: ClassifiedEvent) => EventSections {
  const m = new Map<OutputFormat, LineFormatter>([['ecs', lineFormatter('ecs', HOST, AGENT)]]);
  if (withCef) m.set('cef', lineFormatter('cef', HOST, AGENT));
  return journalSections(m);
}

function encoded(enc: RecordEncoder, batch: readonly ClassifiedEvent[], sections: (ce: ClassifiedEvent) => EventSections): Buffer {
  const { buf, bytes } = enc.encode(batch, sections, 7, TIME);
  return Buffer.from(buf.subarray(0, bytes));
}

/** A change of a corpus event plus hostile strings where the routing section writes them. */
/** `a` now and then (most events keep their ids, so most records can be compact). */
const sometimes = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: a });

/** Well-formed hostile text: what JSON and ecsJson escape, LF, non-ASCII (the random `change` mostly holds raw bytes). */
const wellFormed = fc
  .array(fc.constantFrom('a', '/usr/bin/', 'x y', '\n', '\r', '"', '\\', '\u0000', '\u007f', '\u0085', '\u2028', '\u2029', '\ufeff', 'é', '😀', '{"a":1}'), { maxLength: 8 })
  .map((p) => p.join(''));

const hostile = fc.record({
  // A random change (mostly raw bytes: the reference builder's line), or a corpus event as it is.
  c: fc.oneof({ weight: 1, arbitrary: change }, { weight: 2, arbitrary: fc.nat({ max: base.length - 1 }) }),
  cwd: sometimes(wellFormed),
  path: sometimes(wellFormed),
  args: sometimes(fc.oneof(fc.array(wellFormed, { maxLength: 6 }), fc.array(wellFormed, { minLength: 300, maxLength: 700 }))),
  id: sometimes(text),
  entity: sometimes(text),
  time: sometimes(text),
  // A real U+FFFD (well-formed text, nothing to escape) in one string of an otherwise plain event.
  fffd: sometimes(fc.constantFrom('cwd', 'name', 'exe', 'path', 'arg', 'parent')),
});

function event(h: typeof hostile extends fc.Arbitrary<infer T> ? T : never): ClassifiedEvent {
  const ce = typeof h.c === 'number' ? structuredClone(base[h.c]!) : apply(h.c);
  const p = ce.event.process;
  if (h.cwd !== undefined) p.working_directory = h.cwd;
  if (h.path !== undefined && ce.event.file) ce.event.file.path = h.path;
  if (h.args !== undefined) {
    p.args = h.args;
    p.args_count = h.args.length;
    p.command_line = h.args.join(' ');
  }
  if (h.fffd === 'cwd') p.working_directory = `${p.working_directory ?? ''}\ufffd`;
  if (h.fffd === 'name') p.name = `${p.name}\ufffd`;
  if (h.fffd === 'exe') p.executable = `${p.executable ?? ''}\ufffd`;
  if (h.fffd === 'path' && ce.event.file) ce.event.file.path = `/tmp/\ufffd${ce.event.file.path ?? ''}`;
  if (h.fffd === 'arg') p.args = [...(p.args ?? []), 'caf\ufffd'];
  if (h.fffd === 'parent') p.parent.name = `${p.parent.name ?? ''}\ufffd`;
  if (h.id !== undefined) ce.event.event.id = h.id;
  if (h.entity !== undefined) ce.event.process.entity_id = h.entity;
  if (h.time !== undefined) ce.event['@timestamp'] = h.time;
  return ce;
}

function firstDifference(a: Buffer, b: Buffer): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `lengths ${a.length}/${b.length}, first difference at ${i}: …${JSON.stringify(a.subarray(Math.max(0, i - 60), i + 60).toString('latin1'))}… vs …${JSON.stringify(b.subarray(Math.max(0, i - 60), i + 60).toString('latin1'))}…`;
}

test('issue-14: records written from the ECS line in parts equal the string path byte for byte (random hostile events, with and without CEF)', () => {
  let compact = 0;
  for (const withCef of [false, true]) {
    const d = fc.check(
      fc.property(fc.array(hostile, { minLength: 1, maxLength: 10 }), (hs) => {
        const batch = hs.map(event);
        const mine = new RecordEncoder();
        const ref = new RecordEncoder();
        // The parts path first: the serializer's caches are then warm for the string path, and the
        // other way round in the next run (both must give the reference builder's bytes either way).
        const a = encoded(mine, batch, partsSections(withCef));
        const b = encoded(ref, batch, stringSections(withCef));
        if (!a.equals(b)) throw new Error(firstDifference(a, b));
        assert.deepEqual(mine.counts, ref.counts, 'the same records compact and canonical');
        compact += mine.counts.compact;
      }),
      { numRuns: RUNS },
    );
    if (d.failed) assert.fail(`withCef ${withCef}, seed ${d.seed}, path ${d.counterexamplePath}: ${(d.errorInstance as Error)?.message}`);
  }
  assert.ok(compact > RUNS, `compact records were written (${compact}): the parts' own facts decided them`);
});

test('issue-14: a line the serializer wrote itself is plain (no LF, no U+FFFD); one with U+FFFD or raw bytes is not, and its record is canonical', () => {
  let plain = 0;
  for (const ce of base) {
    const p = ecsParts(ce, HOST, AGENT);
    const joined = p.parts.slice(0, p.count).join('');
    assert.equal(joined, ecsLine(ce, HOST, AGENT));
    if (p.plain) {
      plain++;
      assert.ok(!joined.includes('\n') && !joined.includes('\ufffd'));
    }
  }
  assert.equal(plain, base.length, 'every corpus event is written by the serializer itself, in parts');

  const forks = base.filter((ce) => ce.event.ebpf.kind === 'fork');
  assert.ok(forks.length > 0);
  for (const hostileText of ['a\ufffdb', 'x\udc80y']) {
    const ce = structuredClone(forks[0]!);
    ce.event.process.working_directory = `/tmp/${hostileText}`;
    const p = ecsParts(ce, HOST, AGENT);
    assert.equal(p.plain, false, `${JSON.stringify(hostileText)}: the reference builder's line`);
    assert.equal(p.count, 1);
    assert.ok(p.parts[0]!.includes('\ufffd'));
    const enc = new RecordEncoder();
    const a = encoded(enc, [ce], partsSections(false));
    assert.deepEqual(enc.counts, { compact: 0, canonical: 1 }, 'U+FFFD in the line: the canonical JSON keeps the event exactly');
    assert.ok(a.equals(encoded(new RecordEncoder(), [ce], stringSections(false))));
  }
});

test('issue-14: the routing section without JSON.stringify is JSON.stringify\'s text, byte for byte, for any strings', () => {
  const ce = structuredClone(base[0]!);
  const d = fc.check(
    fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), text, (id, entity, time) => {
      ce.event.event.id = id;
      ce.event.process.entity_id = entity;
      ce.event['@timestamp'] = time;
      const got = encodeSections(ce, []);
      assert.equal(got, routeByStringify(ce));
    }),
    { numRuns: RUNS * 4 },
  );
  if (d.failed) assert.fail(`seed ${d.seed}: ${(d.errorInstance as Error)?.message}`);
});
