/**
 * Issue #14 (s20): the compact journal head written as bytes straight into
 * the record buffer (journal/head-bytes.ts) is byte for byte what the
 * JSON.stringify path wrote: the head alone against compactJson, and whole
 * records against the encoder as it was before (oldEncode below, the
 * 62ed60f RecordEncoder's loop), on the corpus event of every kind and on
 * random hostile events (test/helpers/hostile-events.ts, plus hostile
 * values put anywhere in the head: escapes, non-ASCII, U+2028/2029, U+FFFD,
 * lone surrogates, 16 KiB+ strings, -0, NaN, 2^53 + 2, 1e21, holes,
 * undefined and function members, Dates, toJSON, null prototypes, a
 * getter or non-enumerable `process`).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { COMPACT_TAG, compactJson, compactHeadWalk, headFlags, processFits } from '../../src/journal/compact-record.js';
import { HEAD_FULL, HEAD_ODD, writeCompactHead } from '../../src/journal/head-bytes.js';
import { RecordEncoder } from '../../src/journal/record-encoder.js';
import { MAX_PAYLOAD_BYTES, RECORD_HEADER_BYTES as HDR, sealRecord } from '../../src/journal/format.js';
import { plainLine, sectionsBound, writeSections, type EventSections } from '../../src/journal/payload.js';
import { journalSections, lineFormatter } from '../../src/pipeline/outputs.js';
import type { ClassifiedEvent, OutputFormat } from '../../src/model/event.js';
import type { LineFormatter } from '../../src/sinks/sink.js';
import { corpus, HOST, AGENT } from '../helpers/normalize-corpus.js';
import { apply, change, text } from '../helpers/hostile-events.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);

/** The record encoder of 62ed60f (before head-bytes.ts): the reference the new bytes are held to. */
function oldEncode(batch: readonly ClassifiedEvent[], sections: ((ce: ClassifiedEvent) => EventSections) | undefined, first: number, time: number): Buffer {
  let buf = Buffer.alloc(1 << 16);
  let off = 0;
  let pos = first;
  for (const ce of batch) {
    const sec = sections?.(ce);
    let compact = false;
    let head: string | undefined;
    if (sec) {
      for (const [format, line] of sec.lines) {
        if (format !== 'ecs') continue;
        if (plainLine(line) && processFits(ce.event.process)) {
          compact = true;
          head = compactJson(ce);
        }
        break;
      }
    }
    head ??= JSON.stringify(ce);
    const need = off + HDR + 1 + head.length * 3 + (sec ? sectionsBound(sec) : 0);
    if (need > buf.length) {
      const next = Buffer.alloc(need * 2);
      buf.copy(next, 0, 0, off);
      buf = next;
    }
    const start = off + HDR;
    let end = start;
    if (compact) buf[end++] = COMPACT_TAG;
    end += buf.write(head, end, 'utf8');
    if (sec) end = writeSections(buf, end, sec);
    const len = end - start;
    assert.ok(len <= MAX_PAYLOAD_BYTES);
    sealRecord(buf, off, len, pos, time);
    off += HDR + len;
    pos++;
  }
  return buf.subarray(0, off);
}

function newEncode(enc: RecordEncoder, batch: readonly ClassifiedEvent[], sections: ((ce: ClassifiedEvent) => EventSections) | undefined, first: number, time: number): Buffer {
  const { buf, bytes } = enc.encode(batch, sections, first, time);
  return Buffer.from(buf.subarray(0, bytes));
}

const ecsSections = journalSections(new Map<OutputFormat, LineFormatter>([['ecs', lineFormatter('ecs', HOST, AGENT)]]));
/** For events whose head values the ECS serializer cannot take (a number for a path): a line that still lets the head be compact. */
const FIXED: EventSections = {
  route: '\nM[0,"x","e",1,"t",""]',
  lines: [['ecs', '{"process":{}}']],
};
const sectionsOf = (ce: ClassifiedEvent): EventSections => {
  try {
    return ecsSections(ce);
  } catch {
    return FIXED;
  }
};

/** The head through head-bytes.ts, or the HEAD_* code. */
function headBytes(ce: ClassifiedEvent, size = 1 << 20): Buffer | number {
  const buf = Buffer.alloc(size);
  const end = writeCompactHead(buf, 0, ce, headFlags(ce));
  return end < 0 ? end : buf.subarray(0, end);
}

test('issue-14 head bytes: the corpus event of every kind is written as bytes, equal to compactJson and to the member walk', () => {
  const kinds = new Set<string>();
  for (const ce of corpus()) {
    assert.ok(processFits(ce.event.process));
    const got = headBytes(ce);
    assert.ok(Buffer.isBuffer(got), `${ce.event.ebpf.kind}: the byte writer declined (${String(got)})`);
    assert.equal(got.toString('utf8'), compactJson(ce));
    assert.deepEqual(got, Buffer.from(compactHeadWalk(ce).slice(1), 'utf8'));
    kinds.add(ce.event.ebpf.kind);
  }
  assert.ok(kinds.size >= 35, `only ${kinds.size} kinds in the corpus`);
});

test('issue-14 head bytes: whole records of the corpus equal the 62ed60f encoder, and no JSON.stringify of the event or its members is made', () => {
  const events = corpus();
  const enc = new RecordEncoder();
  const want = oldEncode(events, sectionsOf, 7, 1_700_000_000_000);
  const stringify = JSON.stringify;
  const heads = new Set<unknown>();
  for (const ce of events) {
    heads.add(ce);
    heads.add(ce.event);
    for (const v of Object.values(ce.event)) heads.add(v);
  }
  let calls = 0;
  JSON.stringify = ((v: unknown, ...rest: unknown[]) => {
    if (heads.has(v)) calls++;
    return (stringify as (...a: unknown[]) => string)(v, ...rest);
  }) as typeof JSON.stringify;
  let got: Buffer;
  try {
    got = newEncode(enc, events, sectionsOf, 7, 1_700_000_000_000);
  } finally {
    JSON.stringify = stringify;
  }
  assert.equal(enc.counts.compact, events.length);
  assert.equal(calls, 0, 'the encoder stringified an event or a member of one');
  assert.ok(got.equals(want), 'records differ from the 62ed60f encoder');
});

test('issue-14 head bytes: a buffer too small by any amount gives HEAD_FULL and writes nothing past its end', () => {
  const ce = corpus().find((e) => e.event.ebpf.kind === 'exec')!;
  const whole = headBytes(ce) as Buffer;
  for (let size = 0; size < whole.length; size++) {
    const buf = Buffer.alloc(size + 8, 0xaa);
    const end = writeCompactHead(buf.subarray(0, size), 0, ce, headFlags(ce));
    assert.equal(end, HEAD_FULL, `size ${size}`);
    assert.ok(
      buf.subarray(size).every((b) => b === 0xaa),
      `size ${size}: wrote past the end`,
    );
  }
  assert.deepEqual(headBytes(ce, whole.length), whole);
});

// ---- hostile values anywhere in the head ------------------------------------------------

const HUGE = `${'/a'.repeat(9000)}\u2028`; // past the encoder's first 16 KiB try as UTF-8
const oddValue = fc.oneof(
  { weight: 6, arbitrary: text },
  {
    weight: 1,
    arbitrary: fc.constantFrom(HUGE, 'x'.repeat(20_000), '\ud800'.repeat(3000), '\ufffd\n|=\\'),
  },
  {
    weight: 4,
    arbitrary: fc.oneof(
      fc.integer(),
      fc.double(),
      fc.constantFrom(-0, NaN, Infinity, -Infinity, 2 ** 53, 2 ** 53 + 2, -(2 ** 53) + 1, 1e21, 1e-7, 4294967295, 999_999_999, 1_000_000_000, 123_456_789_012_345),
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom(true, false, null, undefined) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('array-holes', 'array-odd', 'nested', 'date', 'tojson', 'null-proto', 'map', 'boxed', 'function', 'symbol', 'frozen'),
  },
);

/** Shared frozen objects, as users and verdicts are (head-bytes.ts keeps their bytes): one holds a member that changes between events. */
const changing = { v: 0 };
const SHARED = Object.freeze({ id: '0', name: 'x', nested: changing });
const SHARED_DEEP = Object.freeze({ id: '1', tags: Object.freeze(['x', '\u2028', '']), n: Object.freeze({ z: -0 }) });

function materialize(v: unknown): unknown {
  switch (v) {
    case 'shared-frozen':
      changing.v++;
      return SHARED;
    case 'shared-frozen-deep':
      return SHARED_DEEP;
    case 'array-holes':
      return [1, , 'a', , null]; // eslint-disable-line no-sparse-arrays
    case 'array-odd':
      return [undefined, () => 1, Symbol('s'), -0, 'x\u2029'];
    case 'nested':
      return {
        a: { b: [{ c: undefined, d: '\u0000' }], e: 1.5 },
        10: 'ten',
        2: 'two',
      };
    case 'date':
      return new Date(0);
    case 'tojson':
      return { toJSON: () => 'replaced', x: 1 };
    case 'null-proto':
      return Object.assign(Object.create(null), { k: 'v', n: 3 });
    case 'map':
      return new Map([['a', 1]]);
    case 'boxed':
      return Object('boxed');
    case 'function':
      return () => 0;
    case 'symbol':
      return Symbol('x');
    case 'frozen':
      return Object.freeze({ id: '0', name: 'r\u00e9' });
    default:
      return v;
  }
}

/** Where in the head a value goes: one of the event's objects (never the process: its ECS line holds it), and a member name. */
const put = fc.record({
  target: fc.nat(),
  key: fc.oneof(fc.constantFrom('new', '0', '7', 'toJSON', 'k\n"', '\u2028'), fc.nat()),
  value: oddValue,
});
const headChange = fc.record({
  event: change,
  puts: fc.array(put, { maxLength: 4 }),
  processAs: fc.constantFrom('plain', 'plain', 'frozen-event', 'getter', 'hidden'),
});

function headObjects(ce: ClassifiedEvent): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [ce as unknown as Record<string, unknown>];
  const walk = (o: unknown): void => {
    if (typeof o !== 'object' || o === null || Object.isFrozen(o)) return;
    const proto = Object.getPrototypeOf(o) as unknown;
    if (proto !== Object.prototype && !Array.isArray(o)) return; // a Date, a boxed string: left as they are
    if (!Array.isArray(o)) out.push(o as Record<string, unknown>);
    for (const [k, v] of Object.entries(o)) if (o !== ce.event || k !== 'process') walk(v);
  };
  walk(ce.event);
  walk(ce.verdict);
  return out;
}

function hostile(c: typeof headChange extends fc.Arbitrary<infer T> ? T : never): ClassifiedEvent {
  const ce = apply(c.event);
  for (const p of c.puts) {
    const objs = headObjects(ce);
    const o = objs[p.target % objs.length]!;
    const keys = Object.keys(o);
    let k = typeof p.key === 'number' ? (keys[p.key % Math.max(1, keys.length)] ?? 'new') : p.key;
    if (o === (ce as unknown) && k === 'event') k = 'new'; // the event stays an object
    o[k] = materialize(p.value);
  }
  const ev = ce.event as unknown as Record<string, unknown>;
  const proc = ev.process;
  if (c.processAs === 'frozen-event') Object.freeze(ev);
  else if (c.processAs === 'getter')
    Object.defineProperty(ev, 'process', {
      get: () => proc,
      enumerable: true,
      configurable: true,
    });
  else if (c.processAs === 'hidden')
    Object.defineProperty(ev, 'process', {
      value: proc,
      enumerable: false,
      writable: true,
      configurable: true,
    });
  return ce;
}

test('issue-14 head bytes: on random hostile events, the head is compactJson byte for byte (or left to it), and whole records equal the 62ed60f encoder', () => {
  const enc = new RecordEncoder();
  let bytes = 0;
  let odd = 0;
  let first = 0;
  const d = fc.check(
    fc.property(fc.array(headChange, { minLength: 1, maxLength: 6 }), (changes) => {
      const batch = changes.map(hostile);
      for (const ce of batch) {
        if (!processFits(ce.event.process)) continue;
        const want = compactJson(ce); // (not compactHeadWalk: a toJSON put on the event makes JSON call it, the walk does not)
        const got = headBytes(ce);
        if (got === HEAD_ODD) {
          odd++;
          continue;
        }
        assert.ok(Buffer.isBuffer(got), `unexpected ${String(got)}`);
        assert.equal(got.toString('utf8'), want);
        assert.deepEqual(got, Buffer.from(want, 'utf8'));
        bytes++;
      }
      const want = oldEncode(batch, sectionsOf, first, 42);
      const got = newEncode(enc, batch, sectionsOf, first, 42);
      first += batch.length;
      assert.ok(got.equals(want), 'records differ from the 62ed60f encoder');
    }),
    { numRuns: RUNS },
  );
  if (d.failed) assert.fail(`seed ${d.seed}, path ${d.counterexamplePath}: ${(d.errorInstance as Error)?.message}`);
  assert.ok(bytes > RUNS, `too few heads written as bytes (${bytes})`);
  assert.ok(odd > 0, 'no head was left to JSON.stringify');
  assert.ok(enc.counts.compact > 0 && enc.counts.canonical > 0);
});

test('issue-14 head bytes: a bigint in the head throws as JSON.stringify throws', () => {
  const ce = structuredClone(corpus()[0]!);
  (ce.event.ebpf as unknown as Record<string, unknown>).cpu = 1n;
  assert.equal(headBytes(ce), HEAD_ODD);
  const enc = new RecordEncoder();
  assert.throws(() => enc.encode([ce], sectionsOf, 0, 0), TypeError);
  assert.throws(() => oldEncode([ce], sectionsOf, 0, 0), TypeError);
});

test('issue-14 head bytes: an enumerable member on Object.prototype (seen by for-in, not by JSON) leaves the head to JSON.stringify', () => {
  const ce = corpus()[0]!;
  const proto = Object.prototype as Record<string, unknown>;
  proto.polluted = 'x';
  try {
    assert.equal(headBytes(ce), HEAD_ODD);
    assert.ok(oldEncode([ce], sectionsOf, 0, 0).equals(newEncode(new RecordEncoder(), [ce], sectionsOf, 0, 0)));
  } finally {
    delete proto.polluted;
  }
  assert.ok(Buffer.isBuffer(headBytes(ce)));
});

test('issue-14 head bytes: bytes kept for a shared frozen object are used only while it cannot change (frozen all the way down, no getter)', () => {
  const base = corpus()[0]!;
  const inner = { v: 0 };
  let g = 0;
  const shallow = Object.freeze({ id: '0', name: 'root', inner });
  const getter = Object.freeze(Object.defineProperty({ id: '0' }, 'name', { get: () => `n${g}`, enumerable: true }));
  const deep = Object.freeze({ id: '0', name: 'r\u00e9', list: Object.freeze(['a', '\u2028']) });
  for (let i = 0; i < 6; i++) {
    inner.v = i;
    g = i;
    for (const [slot, shared] of [
      ['user', shallow],
      ['group', getter],
      ['user', deep],
    ] as const) {
      const ce = structuredClone(base);
      (ce.event as unknown as Record<string, unknown>)[slot] = shared;
      const got = headBytes(ce);
      assert.ok(Buffer.isBuffer(got), `${slot}: ${String(got)}`);
      assert.equal(got.toString('utf8'), compactJson(ce), `round ${i}, ${slot}`);
    }
  }
});
