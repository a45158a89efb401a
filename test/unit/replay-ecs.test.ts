// Issue 14: `replay --events all` writes the ECS lines of normal events from
// plans (src/pipeline/replay-ecs.ts) instead of building each event. The
// lines must be byte for byte those of the full path (every event built,
// enriched, classified, serialized): on raw and enriched captures, on the
// normalizer corpus (every kind), with strings that need escaping in the
// values the plans fill in; CEF sinks get the built events.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { AgentInfo, ClassifiedEvent, HostInfo, SensorEvent } from '../../src/model/event.js';
import { replay, type ReplayOptions } from '../../src/pipeline/replay.js';
import { From, LineChunks, PlannedEvent, buildPlan, renderPlan, type Slot } from '../../src/pipeline/replay-ecs.js';
import { ecsLine } from '../../src/normalize/ecs/ecs-serializer.js';
import { lineFormatter } from '../../src/pipeline/outputs.js';
import { lineOf, type Sink } from '../../src/sinks/sink.js';
import { corpus } from '../helpers/normalize-corpus.js';
import { AGENT, HOST, NORMAL } from '../helpers/normalize-corpus.js';
import { rawEvents, tempDir, writeCapture } from '../helpers/replay-fixtures.js';
import { canonicalSpans } from '../../src/sources/replay/capture-json.js';

const dir = tempDir('ebpf-sensor-replay-ecs-');

/** A sink that writes what a file sink writes (lineOf: the shipped line when there is one). */
class LineSink implements Sink {
  readonly name = 'lines';
  readonly lines: string[] = [];
  planned = 0;
  constructor(
    host: HostInfo,
    agent: AgentInfo,
    private readonly format = lineFormatter('ecs', host, agent),
  ) {}
  /** The whole batch formatted before any of it is kept, as the file sink does (a failure keeps nothing). */
  async send(batch: readonly ClassifiedEvent[]): Promise<void> {
    const lines = batch.map((ce) => String(lineOf(ce, this.format)));
    for (const ce of batch) if (ce instanceof PlannedEvent) this.planned++;
    this.lines.push(...lines);
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

async function run(file: string, opts: Partial<ReplayOptions>, cef = false): Promise<{ lines: string[]; planned: number }> {
  const sinks: LineSink[] = [];
  await replay({
    inputs: [file],
    rules: { bundled: true, paths: [] },
    events: 'all',
    speed: 'max',
    skipBad: false,
    sinks: (host, agent) => {
      const s = new LineSink(host, agent, cef ? lineFormatter('cef', host, agent) : undefined);
      sinks.push(s);
      return [s];
    },
    localHost: () => ({ host: HOST, agent: AGENT }),
    ...opts,
  });
  return { lines: sinks.flatMap((s) => s.lines), planned: sinks.reduce((a, s) => a + s.planned, 0) };
}

async function same(file: string, name: string): Promise<number> {
  const full = await run(file, { noFastPath: true });
  const fast = await run(file, {});
  assert.equal(full.planned, 0);
  assert.equal(fast.lines.length, full.lines.length, `${name}: as many documents`);
  for (let i = 0; i < full.lines.length; i++) assert.equal(fast.lines[i], full.lines[i], `${name}: document ${i} differs`);
  const cefFull = await run(file, { noFastPath: true }, true);
  const cefFast = await run(file, {}, true);
  assert.deepEqual(cefFast.lines, cefFull.lines, `${name}: CEF`);
  return fast.planned;
}

/** `events` and then their opens again, three times (new ids): a host reading the same files, without process churn. */
function withRereads(events: SensorEvent[]): SensorEvent[] {
  const opens = events.filter((ev) => ev.ebpf.kind === 'open');
  const out = [...events];
  for (let k = 1; k <= 3; k++) {
    for (const ev of opens) {
      const c = structuredClone(ev);
      c.event.id = `${ev.event.id}-r${k}`;
      c.event.sequence += 1_000_000 * k;
      out.push(c);
    }
  }
  return out;
}

/** Strings JSON escapes (and the line breaks ecsJson escapes) in the values plans fill in. */
function hostile(events: SensorEvent[]): SensorEvent[] {
  const odd = ['a"quote', 'back\\slash', 'line\u2028sep', 'tab\there', 'nl\nx', 'nel\u0085', 'ctl\u0001', 'ü-é-漢'];
  events.forEach((ev, i) => {
    const f = ev.file as { path?: string; name?: string } | undefined;
    if (f?.path !== undefined && i % 3 === 0) {
      const s = odd[i % odd.length]!;
      f.path = `/srv/${s}/${i % 7}`;
      f.name = `${i % 7}`;
    }
  });
  return events;
}

describe('replay --events all: ECS lines from plans', () => {
  for (const liveEnrich of [0, 0.5, 1]) {
    test(`same bytes as the full path: ${liveEnrich * 100}% of events enriched when recorded, opens read again`, async () => {
      let planned = 0;
      let records = 0;
      for (const seed of [1, 2]) {
        const events = withRereads(rawEvents(seed, 2500, liveEnrich));
        records += events.length;
        const file = await writeCapture(join(dir, `raw-${seed}-${liveEnrich}.capture.gz`), events);
        planned += await same(file, `seed ${seed}`);
      }
      // The comparison means something only if plans wrote many of the lines (events recorded
      // without enrichment are enriched again: they never take the plans).
      if (liveEnrich === 1) assert.ok(planned > 100, `planned ${planned} of ${records}`);
      else assert.ok(planned >= 0);
    });
  }

  test('same bytes with strings that need escaping in the planned values', async () => {
    const events = withRereads(hostile(rawEvents(5, 3000, 1)));
    const file = await writeCapture(join(dir, 'hostile.capture.gz'), events);
    const planned = await same(file, 'hostile');
    assert.ok(planned > 100, `planned ${planned}`);
  });

  test('a value of the wrong type where the line writes a string is a coded capture error naming the field, planned or not', async () => {
    // Found by issue-13-fuzz: a plan cut from such an event reached the serializer and threw a TypeError.
    for (const [name, wrong] of [
      ['a number', 7],
      ['an array', ['x']],
      ['a boolean', true],
    ] as const) {
      const events = rawEvents(11, 400, 1);
      const at = events.findIndex((ev, i) => i > 50 && ev.ebpf.kind === 'open' && ev.file?.directory !== undefined);
      assert.ok(at > 0);
      (events[at]!.file as unknown as Record<string, unknown>).directory = wrong;
      const file = await writeCapture(join(dir, `wrong-type-${name.replace(/ /g, '-')}.capture.gz`), events);
      for (const noFastPath of [false, true]) {
        await assert.rejects(run(file, { noFastPath }), (e: Error & { code?: string }) => {
          assert.equal(e.code, 'ESENSOR_CAPTURE_FORMAT', `${name}, fast path ${!noFastPath}: ${e.stack}`);
          assert.match(e.message, /file\.directory/, name);
          return true;
        });
        // --skip-bad: the other events go out, the same from both paths.
        const kept = await run(file, { noFastPath, skipBad: true });
        assert.equal(kept.lines.length, events.length - 1, `${name}: every other event`);
      }
    }
  });

  test('issue-14: same bytes when plans are kept across capture blocks (small blocks, values copied as the capture holds them)', async () => {
    const events = withRereads(hostile(rawEvents(7, 3000, 1)));
    const small = await same(await writeCapture(join(dir, 'blocks.capture.gz'), events, { blockBytes: 48 << 10 }), 'small blocks');
    const one = await same(await writeCapture(join(dir, 'one-block.capture.gz'), events), 'one block');
    // Plans of one block serve the next: small blocks plan about as many lines as one block does.
    assert.ok(one > 100 && small >= one * 0.9, `planned ${small} with small blocks, ${one} with one block, of ${events.length}`);
  });

  test('issue-14: same bytes for connects planned with their addresses, equal or not (related.ip)', async () => {
    const events = rawEvents(9, 3000, 1);
    const connects = events.filter((ev) => ev.ebpf.kind === 'connect' && ev.source?.ip !== undefined && ev.destination?.ip !== undefined);
    assert.ok(connects.length > 5, `${connects.length} connects`);
    // The recorded connects go to another host (the first event of each plan key: its plan holds both addresses) …
    connects.forEach((ev, i) => {
      ev.destination!.ip = ev.destination!.address = `10.1.${i % 200}.${(i >> 3) % 250}`;
    });
    const out = [...events];
    for (let k = 1; k <= 6; k++) {
      for (const ev of connects) {
        const c = structuredClone(ev);
        c.event.id = `${ev.event.id}-c${k}`;
        c.event.sequence += 1_000_000 * k;
        // … and every third copy to its own address: related.ip then holds it once, which the plan must not write.
        if (k % 3 === 0) c.destination!.ip = c.destination!.address = c.source!.ip;
        else c.destination!.port = (c.destination!.port ?? 0) + k;
        out.push(c);
      }
    }
    const file = await writeCapture(join(dir, 'connects.capture.gz'), out);
    const fast = await run(file, {});
    const planned = await same(file, 'connects');
    assert.ok(planned > 0 && fast.lines.some((l) => l.includes('"kind":"connect"')), `planned ${planned}`);
  });

  test('issue-14: same bytes with long values (copied in one call, not byte by byte), lines past a chunk, a line larger than a chunk', async () => {
    const events = rawEvents(15, 2500, 1);
    let k = 0;
    for (const ev of events) {
      // An own value (the event id) longer than what is copied byte by byte.
      ev.event.id = `${ev.event.id}${'z'.repeat(80)}`;
      const f = ev.file as { path?: string; name?: string; directory?: string } | undefined;
      if (f?.path === undefined) continue;
      // Paths of 65 bytes to 20 kB (a batch of such lines fills several 4 MiB chunks) and one of 5 MiB.
      const long = k === 40 ? 'y'.repeat(5 << 20) : 'd'.repeat(65 + ((k * 997) % 20_000));
      f.directory = `/srv/${long}`;
      f.path = `${f.directory}/${f.name ?? 'x'}`;
      k++;
    }
    const planned = await same(await writeCapture(join(dir, 'long.capture.gz'), withRereads(events)), 'long values');
    assert.ok(planned > 100, `planned ${planned}`);
  });

  test('issue-14: line chunks are written over once released, and chunks larger than usual are not kept', () => {
    const lines = new LineChunks();
    const first = lines.buf;
    lines.reserve(3 << 20);
    lines.off += 3 << 20;
    lines.reserve(3 << 20); // does not fit: the next chunk
    assert.notEqual(lines.buf, first);
    assert.equal(lines.off, 0);
    lines.off += 3 << 20;
    lines.reserve(9 << 20); // larger than a chunk: one of its own
    assert.ok(lines.buf.length >= 9 << 20);
    lines.release();
    assert.equal(lines.buf, first, 'the first chunk again');
    assert.equal(lines.off, 0);
    lines.reserve(3 << 20);
    lines.off += 3 << 20;
    lines.reserve(3 << 20);
    lines.off += 3 << 20;
    lines.reserve(3 << 20);
    assert.equal(lines.buf.length, 4 << 20, 'the large chunk was let go');
  });

  test('same bytes on decoded events of every kind (normalizer corpus)', async () => {
    const file = await writeCapture(join(dir, 'corpus.capture.gz'), corpus().map((ce) => ce.event));
    await same(file, 'corpus');
  });
});

describe('canonicalSpans: value bytes that re-encode to themselves', () => {
  const spansOf = (text: string): string[] | undefined => {
    const b = Buffer.from(`x${text}y`, 'utf8');
    const spans = new Int32Array(64);
    const n = canonicalSpans(b, 1, b.length - 1, spans);
    if (n < 0) return undefined;
    const out: string[] = [];
    for (let k = 0; k < n; k++) out.push(b.toString('utf8', spans[2 * k]!, spans[2 * k + 1]!));
    return out;
  };

  test('canonical strings and integers are located; anything that would not re-encode to the same bytes is refused', () => {
    assert.deepEqual(spansOf('["a",1,-20,"",0,"/x y.js",123456789012345]'), ['"a"', '1', '-20', '""', '0', '"/x y.js"', '123456789012345']);
    assert.deepEqual(spansOf('[]'), []);
    for (const bad of ['["a\\"b"]', '["\\u0041"]', '["é"]', '[1.5]', '[1e3]', '[-0]', '[01]', '[1234567890123456]', '[ 1]', '[1 ]', '[1,]', '[,1]', '[null]', '[true]', '[[1]]', '[{"a":1}]', '["a"', '"a"]', '["a" "b"]', '["a\tb"]']) {
      assert.equal(spansOf(bad), undefined, bad);
    }
  });

  test('whatever is located is JSON.stringify(JSON.parse(value))', () => {
    const pick = ['"a"', '"/usr/lib/x.so"', '0', '7', '-100', '"\\n"', '"é"', '1.25', '-0', '"a\\"b"', '12345678901234567', 'null', '"tab\tx"', '" "'];
    let located = 0;
    for (let seed = 1; seed < 3000; seed++) {
      const vals: string[] = [];
      for (let k = 0, x = seed; k < 1 + (seed % 6); k++, x = (x * 1103515245 + 12345) % 2 ** 31) vals.push(pick[x % pick.length]!);
      const text = `[${vals.join(',')}]`;
      const got = spansOf(text);
      if (!got) continue;
      located++;
      const parsed = JSON.parse(text) as unknown[];
      assert.deepEqual(got, parsed.map((v) => JSON.stringify(v)), text);
    }
    assert.ok(located > 100, `located ${located}`);
  });
});

describe('buildPlan: the probe writes its sentinels into the event itself', () => {
  const openEvent = (): SensorEvent => structuredClone(corpus().find((ce) => ce.event.ebpf.kind === 'open')!.event);
  const slotsOf = (extra: Slot[] = []): Slot[] => [
    { from: From.Ts, index: 0, path: '@timestamp', type: 'string' },
    { from: From.Own, index: 0, path: 'event.id', type: 'string' },
    { from: From.Own, index: 1, path: 'file.path', type: 'string' },
    { from: From.Own, index: 2, path: 'event.sequence', type: 'number' },
    ...extra,
  ];

  test('issue-14: the event is as it was after a plan is cut from it, and the plan writes it and another event byte for byte', () => {
    const ev = openEvent();
    const before = structuredClone(ev);
    let shipped: Buffer | undefined;
    const plan = buildPlan(ev, slotsOf(), { ts: ev['@timestamp'], own: [ev.event.id, ev.file!.path, ev.event.sequence], shape: [] }, HOST, AGENT, () => 0, (l) => (shipped = l));
    assert.ok(plan, 'a plan');
    assert.deepEqual(ev, before, 'every value the sentinels replaced is back');
    const line = Buffer.from(ecsLine({ event: ev, verdict: NORMAL }, HOST, AGENT), 'utf8');
    assert.deepEqual(shipped, line, 'the line shipped with the event is the serializer’s');
    // Another event of the same plan: other values in every slot (one that needs escaping).
    const other = structuredClone(ev);
    other['@timestamp'] = '2030-01-02T03:04:05.000000006Z';
    other.event.id = 'feedfacefeedface';
    other.file!.path = '/srv/a"quote/ü';
    other.event.sequence = 987654321;
    const mine = renderPlan(plan, other['@timestamp'], [other.event.id, other.file!.path, other.event.sequence], []);
    assert.equal(mine?.toString('utf8'), ecsLine({ event: other, verdict: NORMAL }, HOST, AGENT));
    // Its pieces are views of its packed text, in order.
    assert.deepEqual(Buffer.concat(plan.pieces), plan.text);
    assert.equal(plan.piecesBytes, plan.text.length);
  });

  test('issue-14: the event is as it was when no plan can be cut (a slot that is not there, after others were written)', () => {
    const ev = openEvent();
    const before = structuredClone(ev);
    let shipped = false;
    const plan = buildPlan(ev, slotsOf([{ from: From.Own, index: 3, path: 'file.not_there', type: 'string' }]), { ts: ev['@timestamp'], own: [ev.event.id, ev.file!.path, ev.event.sequence, 'x'], shape: [] }, HOST, AGENT, () => 0, () => (shipped = true));
    assert.equal(plan, null);
    assert.equal(shipped, false, 'no line checked, none shipped');
    assert.deepEqual(ev, before);
  });

  test('issue-14: a stray sentinel character in a value of the event leaves it unplanned and unchanged', () => {
    const ev = openEvent();
    ev.file!.name = 'x\uE0001\uE001y';
    const before = structuredClone(ev);
    const plan = buildPlan(ev, slotsOf(), { ts: ev['@timestamp'], own: [ev.event.id, ev.file!.path, ev.event.sequence], shape: [] }, HOST, AGENT, () => 0);
    assert.equal(plan, null);
    assert.deepEqual(ev, before);
  });
});
