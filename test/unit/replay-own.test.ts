// Issue 14: where a record's shape and process context leave a rule open (a
// connect whose destination a rule tests), the replay fast path decides from
// the record's own values without building it, and remembers each answer by
// the capture's bytes of exactly the values the rules read
// (src/pipeline/replay-own.ts). The output must be byte for byte the full
// path's: rules that read a second value only when the first test passes
// (a cache keyed by the first value alone, or by the (context, shape) pair,
// gives wrong answers here), values that are not canonical JSON (escapes,
// non-ASCII, bytes that are not UTF-8: evaluated afresh), a huge value, and
// both alerts-only and `--events all` replay.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClassifiedEvent, SensorEvent } from '../../src/model/event.js';
import { replay, type ReplayOptions } from '../../src/pipeline/replay.js';
import { lineFormatter } from '../../src/pipeline/outputs.js';
import { lineOf } from '../../src/sinks/sink.js';
import { OwnDecisions } from '../../src/pipeline/replay-own.js';
import { AGENT, HOST, rawEvents, replayToMemory, tempDir, writeCapture } from '../helpers/replay-fixtures.js';

const dir = tempDir('ebpf-sensor-replay-own-');

const RULES = join(dir, 'own.yaml');
writeFileSync(
  RULES,
  `- rule: port_then_net
  desc: a connect to port 4444 in 10.9.* (the address is read only when the port matches)
  condition: ebpf.kind = connect and destination.port = 4444 and destination.ip startswith "10.9."
  output: "%{destination.ip}:%{destination.port}"
  severity: high
- rule: odd_address
  desc: a connect whose address holds a quote
  condition: ebpf.kind = connect and destination.address contains "\\""
  output: "%{destination.address}"
  severity: low
- rule: shadow
  desc: a read of the password hashes (no own value read)
  condition: ebpf.kind = open and file.path = /etc/shadow
  output: "%{file.path}"
  severity: high
`,
);

/** Counts the own-value decisions answered from memory and evaluated, over every block. */
const counts = { hits: 0, evaluated: 0 };
const decide = OwnDecisions.prototype.decide;
before(() => {
  OwnDecisions.prototype.decide = function (this: OwnDecisions, ...a: Parameters<typeof decide>): boolean {
    const h = this.hits;
    const e = this.evaluated;
    const r = decide.apply(this, a);
    counts.hits += this.hits - h;
    counts.evaluated += this.evaluated - e;
    return r;
  };
});
after(() => {
  OwnDecisions.prototype.decide = decide;
});

/** The recorded connects again, many times, to a few destinations: some match only on both port and address. */
function connectStorm(seed: number): SensorEvent[] {
  const events = rawEvents(seed, 3000, 1);
  const connects = events.filter((ev) => ev.ebpf.kind === 'connect' && ev.destination?.ip !== undefined && ev.destination.port !== undefined);
  assert.ok(connects.length > 5, `${connects.length} connects`);
  // A few destinations, each process going to all of them again and again.
  const to: Array<[ip: string, port: number]> = [
    ['10.9.1.2', 4444],
    ['10.8.1.2', 4444],
    ['10.9.7.7', 80],
    ['192.168.0.1', 4444],
    ['10.9.7.7', 4444],
    ['10.9.1.2', 443],
  ];
  // Not canonical JSON (escapes, non-ASCII, a lone surrogate: bytes that are not UTF-8), and one huge value.
  const odd = ['a"quote', 'tab\there', 'é-漢', 'raw\udcff', '-plain'];
  const out = [...events];
  for (let k = 1; k <= 30; k++) {
    connects.forEach((ev, j) => {
      const c = structuredClone(ev);
      c.event.id = `${ev.event.id}-o${k}`;
      c.event.sequence += 1_000_000 * k;
      const [ip, port] = to[(j + k) % to.length]!;
      c.destination!.ip = ip;
      c.destination!.port = port;
      c.destination!.address = k % 7 === 0 ? `${ip}${odd[j % odd.length]!}` : ip;
      if (k === 7 && j === 3) c.destination!.address = `${ip}${'x'.repeat(100_000)}`;
      out.push(c);
    });
  }
  return out;
}

async function same(file: string, opts: Partial<Omit<ReplayOptions, 'inputs'>>, name: string): Promise<{ lines: string[]; skipped: number }> {
  const full = await replayToMemory([file], { ...opts, noFastPath: true });
  const fast = await replayToMemory([file], opts);
  assert.equal(full.summary.skipped, 0);
  assert.equal(fast.lines.length, full.lines.length, `${name}: as many documents`);
  for (let i = 0; i < full.lines.length; i++) assert.equal(fast.lines[i], full.lines[i], `${name}: document ${i} differs`);
  assert.deepEqual(fast.summary.byRule, full.summary.byRule, name);
  return { lines: fast.lines, skipped: fast.summary.skipped };
}

/** The lines a file sink writes (the shipped bytes of planned events), copied at send() as the Sink contract asks. */
async function shippedLines(file: string, noFastPath: boolean): Promise<string[]> {
  const lines: string[] = [];
  await replay({
    inputs: [file],
    rules: { bundled: false, paths: [RULES] },
    events: 'all',
    speed: 'max',
    skipBad: false,
    noFastPath,
    sinks: (host, agent) => {
      const format = lineFormatter('ecs', host, agent);
      return [
        {
          name: 'lines',
          send: async (batch: readonly ClassifiedEvent[]) => {
            for (const ce of batch) lines.push(String(lineOf(ce, format)));
          },
          flush: async () => undefined,
          close: async () => undefined,
        },
      ];
    },
    localHost: () => ({ host: HOST, agent: AGENT }),
  });
  return lines;
}

describe('replay: own-value decisions remembered by the bytes the rules read', () => {
  test('alerts only: same alerts as the full path; connects decided without being built', async () => {
    const events = connectStorm(9);
    const file = await writeCapture(join(dir, 'connects.capture.gz'), events);
    counts.hits = counts.evaluated = 0;
    const { lines, skipped } = await same(file, { events: 'alerts', rules: { bundled: false, paths: [RULES] } }, 'alerts');
    const byRule = (id: string): number => lines.filter((l) => l.includes(`"id":"${id}"`)).length;
    // Both outcomes of the second test occur under one (context, shape): a decision kept by the port alone would be wrong.
    assert.ok(byRule('port_then_net') > 10, `port_then_net ${byRule('port_then_net')}`);
    assert.ok(byRule('odd_address') > 0, `odd_address ${byRule('odd_address')}`);
    // The decisions came from memory for most connects, and the connects were not built.
    // (About 230 processes connect, each to 6 destinations and a few odd addresses, 30 times.)
    assert.ok(counts.hits > 3000 && counts.hits > 1.5 * counts.evaluated, `hits ${counts.hits}, evaluated ${counts.evaluated}`);
    assert.ok(skipped > events.length - 2 * counts.evaluated - lines.length - 1000, `skipped ${skipped} of ${events.length}`);
  });

  test('alerts only with the bundled rules, and with small blocks (decisions are kept per block)', async () => {
    const events = connectStorm(11);
    await same(await writeCapture(join(dir, 'bundled.capture.gz'), events), { events: 'alerts' }, 'bundled');
    counts.hits = 0;
    await same(await writeCapture(join(dir, 'small.capture.gz'), events, { blockBytes: 40_000 }), { events: 'alerts', rules: { bundled: false, paths: [RULES] } }, 'small blocks');
    assert.ok(counts.hits > 0, `hits ${counts.hits}`);
  });

  test('--events all: the same ECS lines (planned connects decided from memory)', async () => {
    const file = await writeCapture(join(dir, 'all.capture.gz'), connectStorm(13));
    counts.hits = 0;
    await same(file, { events: 'all', rules: { bundled: false, paths: [RULES] } }, 'all');
    // Connects whose key has no plan (values the serializer reads) are built without asking; some have one.
    assert.ok(counts.hits > 0, `hits ${counts.hits}`);
    const full = await shippedLines(file, true);
    const fast = await shippedLines(file, false);
    assert.equal(fast.length, full.length);
    for (let i = 0; i < full.length; i++) assert.equal(fast[i], full[i], `shipped line ${i} differs`);
  });
});
