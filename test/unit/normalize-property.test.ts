// Property tests of both normalizers with hostile strings: newlines, |, =, \,
// quotes, control characters, line separators, invalid UTF-8 (lone
// surrogates as raw-text.ts keeps it), 4 KiB+ paths and very long argv.
// Every ECS document validates and keeps its bytes recoverable; every CEF
// line round-trips through the strict parser with the same keys as a benign
// event and recoverable bytes; both are pure.
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { toEcs, ecsJson } from '../../src/normalize/ecs/ecs.js';
import { toCef } from '../../src/normalize/cef/cef.js';
import { fromExactBytes } from '../../src/normalize/raw-bytes.js';
import { encodeRaw } from '../../src/model/raw-text.js';
import type { ClassifiedEvent, HostInfo } from '../../src/model/event.js';
import { validateEcs } from '../helpers/ecs-validator.js';
import { parseCef } from '../helpers/cef-parser.js';
import { corpus, HOST, AGENT } from '../helpers/normalize-corpus.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const RUNS = Number(process.env.NORMALIZE_PROPERTY_RUNS ?? 150);
const base = corpus().filter((c) => c.event.file !== undefined);

const piece = fc.oneof(
  fc.constantFrom(
    '\n', '\r', '\r\n', '|', '=', '\\', '\\=', '\\n', '"', "'", ' ', '  ', '\t', '\u0000', '\u0001', '\u001b[31m', '\u007f', '\u0085',
    '\u2028', '\u2029', '\ufeff', '\ufffd', 'CEF:0|', ' cs1=', ' act=x', '=x ', '%', '%41', '😀', 'é', '\ud800', '\udfff', '{"a":1}',
  ),
  fc.integer({ min: 0x80, max: 0xff }).map((b) => String.fromCharCode(0xdc00 + b)),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
);
const hostile = fc.array(piece, { maxLength: 10 }).map((p) => p.join(''));
const longPath = fc.tuple(fc.integer({ min: 4097, max: 9000 }), hostile).map(([n, h]) => `/${'long-dir/'.repeat(Math.ceil(n / 9))}${h}`);
const path = fc.oneof(hostile, longPath);

interface Overrides {
  index: number;
  path: string;
  name: string;
  args: string[];
  exe: string;
  user: string;
  container: string;
  ruleId: string;
  ruleName: string;
  message: string;
  tag: string;
  hostName: string;
  alert: boolean;
}

const overrides: fc.Arbitrary<Overrides> = fc.record({
  index: fc.nat({ max: base.length - 1 }),
  path,
  name: hostile,
  args: fc.oneof(fc.array(hostile, { maxLength: 8 }), fc.array(hostile, { minLength: 200, maxLength: 600 })),
  exe: path,
  user: hostile,
  container: hostile,
  ruleId: hostile,
  ruleName: hostile,
  message: hostile,
  tag: hostile,
  hostName: hostile,
  alert: fc.boolean(),
});

function build(o: Overrides, text: (s: string) => string): { ce: ClassifiedEvent; host: HostInfo } {
  const ce = structuredClone(base[o.index]!);
  const ev = ce.event;
  ev.file!.path = text(o.path);
  ev.file!.name = text(o.name);
  ev.process.args = o.args.map(text);
  ev.process.args_count = o.args.length;
  ev.process.command_line = text(o.args.join(' '));
  ev.process.executable = text(o.exe);
  ev.process.name = text(o.name);
  ev.user.name = text(o.user);
  ev.process.user.name = text(o.user);
  ev.container = { id: text(o.container) };
  if (o.alert) {
    ce.verdict = {
      classification: 'suspicious',
      matches: [
        {
          id: text(o.ruleId),
          name: text(o.ruleName),
          description: text(o.message),
          severity: 'medium',
          tags: [text(o.tag), 'T1059.004'],
          message: text(o.message),
          ruleset: 'site',
          version: '1',
          action: 'alert',
        },
      ],
    };
  } else {
    ce.verdict = { classification: 'normal', matches: [] };
  }
  return { ce, host: { ...HOST, name: text(o.hostName) } };
}

/** Run a property; on failure, name the assertion, the seed and a (cut) counterexample. */
function check<T>(arb: fc.Arbitrary<T>, fn: (v: T) => void): void {
  const d = fc.check(fc.property(arb, fn), { numRuns: RUNS });
  if (d.failed) {
    const err = d.errorInstance as Error | undefined;
    assert.fail(
      `property failed after ${d.numRuns} runs (seed ${d.seed}, path ${d.counterexamplePath}): ${err?.message ?? String(d.errorInstance)}\n` +
        `counterexample: ${JSON.stringify(d.counterexample, (_k, v: unknown) => (typeof v === 'string' && v.length > 80 ? `${v.slice(0, 40)}…(${v.length} chars)` : v)).slice(0, 3000)}`,
    );
  }
}

const hostileText = (s: string): string => s;
/** The benign twin: same fields present or absent, no hostile content. */
const benignText = (s: string): string => (s === '' ? '' : 'x');

/** The bytes an ECS field stands for: its companion in ebpf.raw_bytes, or its UTF-8. */
function ecsBytes(doc: Doc, field: string, value: string, index?: number): Buffer {
  const entry = doc.ebpf.raw_bytes?.[field] as string | string[] | undefined;
  if (entry === undefined) return Buffer.from(value, 'utf8');
  return fromExactBytes(index === undefined ? (entry as string) : (entry as string[])[index]!);
}

/** The bytes a CEF key stands for: its cs6 rawBytes entry, or its UTF-8. */
function cefBytes(ext: Map<string, string>, key: string): Buffer | undefined {
  const raw = ext.get('cs6');
  if (raw !== undefined) {
    for (const entry of raw.split(' ')) {
      const colon = entry.indexOf(':');
      if (entry.slice(0, colon) === key) return fromExactBytes(entry.slice(colon + 1));
    }
  }
  const v = ext.get(key);
  return v === undefined ? undefined : Buffer.from(v, 'utf8');
}

test('ECS: hostile strings give valid documents, one line each, bytes recoverable, pure', () => {
  check(overrides, (o) => {
      const { ce, host } = build(o, hostileText);
      const before = structuredClone(ce);
      const doc = toEcs(ce, host, AGENT) as Doc;
      assert.deepEqual(validateEcs(doc), []);
      const line = ecsJson(doc);
      assert.ok(line.isWellFormed(), 'the JSON is valid UTF-8 text');
      assert.ok(!/[\n\r\u0085\u2028\u2029]/.test(line), 'one document, one line');
      assert.ok(!/\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|\\ud[c-f][0-9a-f]{2}/i.test(line), 'no lone surrogate escapes');
      assert.deepEqual(JSON.parse(line), doc);
      assert.equal(line, ecsJson(toEcs(structuredClone(ce), structuredClone(host), AGENT)), 'byte-identical on the same input');
      assert.deepEqual(ce, before, 'input untouched');
      assert.ok(ecsBytes(doc, 'file.path', doc.file.path).equals(encodeRaw(ce.event.file!.path)));
      assert.ok(ecsBytes(doc, 'process.executable', doc.process.executable).equals(encodeRaw(ce.event.process.executable!)));
      assert.ok(ecsBytes(doc, 'host.name', doc.host.name).equals(encodeRaw(host.name)));
      ce.event.process.args!.forEach((a, i) => {
        assert.ok(ecsBytes(doc, 'process.args', doc.process.args[i], i).equals(encodeRaw(a)), `process.args[${i}]`);
      });
      if (o.alert) {
        assert.ok(ecsBytes(doc, 'rule.name', doc.rule.name).equals(encodeRaw(ce.verdict.matches[0]!.name)));
        assert.ok(ecsBytes(doc, 'message', doc.message).equals(encodeRaw(ce.verdict.matches[0]!.message)));
      }
  });
});

test('CEF: hostile strings round-trip through the strict parser, forge nothing, bytes recoverable, pure', () => {
  check(overrides, (o) => {
      const { ce, host } = build(o, hostileText);
      const before = structuredClone(ce);
      const opts = { vendor: 'ebpf-sensor', product: 'ebpf-sensor' };
      const line = toCef(ce, host, AGENT, opts);
      assert.ok(line.isWellFormed());
      assert.ok(!/[\r\n\u0085\u2028\u2029]/.test(line), 'one line');
      assert.equal(line, toCef(structuredClone(ce), structuredClone(host), AGENT, opts), 'byte-identical on the same input');
      assert.deepEqual(ce, before, 'input untouched');
      const r = parseCef(line);
      assert.equal(r.deviceVendor, 'ebpf-sensor');
      assert.equal(r.deviceVersion, AGENT.version);
      assert.equal(r.severity, o.alert ? '5' : '1');
      const twin = build(o, benignText);
      const expectedKeys = [...parseCef(toCef(twin.ce, twin.host, AGENT, opts)).extension.keys()];
      assert.deepEqual([...r.extension.keys()].filter((k) => !k.startsWith('cs6')), expectedKeys.filter((k) => !k.startsWith('cs6')));
      const e = r.extension;
      const ev = ce.event;
      if (ev.file!.path !== '') assert.ok(cefBytes(e, 'filePath')!.equals(encodeRaw(ev.file!.path)), 'filePath');
      if (ev.file!.name !== '') assert.ok(cefBytes(e, 'fname')!.equals(encodeRaw(ev.file!.name!)), 'fname');
      if (ev.process.name !== '') assert.ok(cefBytes(e, 'sproc')!.equals(encodeRaw(ev.process.name)), 'sproc');
      if (ev.process.command_line !== '') assert.ok(cefBytes(e, 'cs5')!.equals(encodeRaw(ev.process.command_line!)), 'cs5');
      if (host.name !== '') assert.ok(cefBytes(e, 'dvchost')!.equals(encodeRaw(host.name)), 'dvchost');
      if (o.alert) {
        const m = ce.verdict.matches[0]!;
        if (m.id !== '') assert.ok(cefBytes(e, 'cs1')!.equals(encodeRaw(m.id)), 'cs1');
        if (m.message !== '') assert.ok(cefBytes(e, 'msg')!.equals(encodeRaw(m.message)), 'msg');
        const header = new Map([['name', r.name]]);
        if (e.has('cs6')) header.set('cs6', e.get('cs6')!);
        assert.ok(cefBytes(header, 'name')!.equals(encodeRaw(m.name)), 'header name');
      }
  });
});
