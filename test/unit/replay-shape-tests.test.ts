// Issue 14: what a shape alone decides in replay's fast path is read off the
// shape's values by position (src/pipeline/replay-shape-tests.ts) instead of
// building a partial event per shape (one per distinct path: most of a
// capture's shapes). The answer must be mayMatch's on the partial event for
// every shape (bundled rules and rules on shape fields, absent fields,
// arrays), the templates it cannot read by position exactly (a value above
// a field, a getter that throws on the template) must keep the
// partial event, and alerts-only replay must stay byte for byte the full
// path's while building no partial event for a shape.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventKind } from '../../src/model/event.js';
import { loadRules } from '../../src/rules/engine.js';
import { emptyPartial, partialMatcher, type PartialVerdict } from '../../src/rules/filter.js';
import { mayMatch } from '../../src/pipeline/replay-own.js';
import { valuesMay, valuesTest } from '../../src/pipeline/replay-shape-tests.js';
import { CaptureBlock, openInput } from '../../src/sources/replay/replay-source.js';
import { corpus } from '../helpers/normalize-corpus.js';
import { rawEvents, replayToMemory, tempDir, writeCapture } from '../helpers/replay-fixtures.js';

const dir = tempDir('ebpf-sensor-replay-shape-tests-');

const RULES = join(dir, 'shape.yaml');
writeFileSync(
  RULES,
  `- rule: shadow_read
  desc: a read of the password hashes
  condition: ebpf.kind = open and file.path in (/etc/shadow, /etc/gshadow) and not ebpf.open.intent in (write)
  output: "%{file.path}"
  severity: high
- rule: libc_by_name
  desc: a shape field tested by suffix and a flag list
  condition: ebpf.kind = open and file.name endswith ".so.6" and ebpf.open.flag_names in (O_RDONLY)
  output: "%{file.name}"
  severity: low
- rule: etc_writes
  desc: a write under /etc by anyone but root
  condition: ebpf.kind = open and ebpf.open.intent in (write) and file.path startswith /etc/ and user.id != "0"
  output: "%{file.path}"
  severity: medium
`,
);

/** Every shape of every block of a capture, with its kind's shape-only verdict. */
function shapesOf(file: string, rules: { bundled: boolean; paths: string[] }): Array<{ b: CaptureBlock; s: number; v: Extract<PartialVerdict, { t: 'test' }> }> {
  const inp = openInput(file, { localHost: () => assert.fail('captures only') });
  const engine = loadRules({ ...rules, lists: inp.lists });
  const fields = new Set(inp.header!.encoding.shape);
  const byShape = partialMatcher({ rules: engine.rules, always: ['loss'] }, (f) => fields.has(f));
  const out: Array<{ b: CaptureBlock; s: number; v: Extract<PartialVerdict, { t: 'test' }> }> = [];
  for (let b = inp.next(); b; b = inp.next()) {
    assert.ok(b instanceof CaptureBlock);
    for (let s = 0; s < b.shapeCount; s++) {
      const v = byShape.get(b.shapeField(s, 'ebpf.kind') as EventKind);
      if (v?.t === 'test') out.push({ b, s, v });
    }
  }
  inp.close();
  return out;
}

describe('shape decisions by position (replay-shape-tests.ts)', () => {
  test('the same answer as the partial event, for every shape of a capture, bundled rules and rules on shape fields', async () => {
    const file = await writeCapture(join(dir, 'mixed.capture.gz'), [...rawEvents(41, 4000, 0.5), ...corpus().map((ce) => ce.event)], { blockBytes: 64 * 1024 });
    for (const rules of [{ bundled: true, paths: [] }, { bundled: false, paths: [RULES] }]) {
      let no = 0;
      let yes = 0;
      const shapes = shapesOf(file, rules);
      assert.ok(shapes.length > 50, `${shapes.length} shapes`);
      for (const { b, s, v } of shapes) {
        const d = b.shapeDef(s)!;
        const t = valuesTest(v.ir, d.paths);
        assert.ok(t, `template ${d.paths.join(',')} read by position`);
        const partial = emptyPartial();
        b.shapeInto(s, partial);
        const want = mayMatch(v.may, partial);
        assert.equal(valuesMay(t, d.values), want, `shape ${JSON.stringify(d.values)}`);
        if (want) yes++;
        else no++;
      }
      // Both answers occur: the test compares something.
      assert.ok(no > 0 && yes > 0, `${no} no, ${yes} maybe`);
    }
  });

  test('absent fields and arrays read as the getters read them; what cannot be read by position exactly keeps the partial event', () => {
    const rules = join(dir, 'inside.yaml');
    writeFileSync(
      rules,
      `- rule: requested_root
  desc: a value read inside an object the shape holds whole
  condition: ebpf.kind = setuid and ebpf.ids.requested = "0"
  output: x
  severity: low
- rule: open_flags
  desc: arrays and an absent field
  condition: ebpf.kind = open and ebpf.open.flag_names in (O_CREAT) and file.extension = "sh"
  output: x
  severity: low
`,
    );
    const engine = loadRules({ bundled: false, paths: [rules] });
    const byShape = partialMatcher({ rules: engine.rules }, () => true);
    const setuid = byShape.get('setuid');
    const open = byShape.get('open');
    assert.ok(setuid?.t === 'test' && open?.t === 'test');
    // No path at, above or below the field: absent.
    const absent = valuesTest(setuid.ir, ['ebpf.kind']);
    assert.ok(absent);
    assert.equal(valuesMay(absent, ['setuid']), false);
    assert.equal(valuesMay(valuesTest(setuid.ir, ['ebpf.kind', 'ebpf.ids.requested'])!, ['setuid', [1000, 0]]), true);
    assert.equal(valuesMay(valuesTest(setuid.ir, ['ebpf.kind', 'ebpf.ids.requested'])!, ['setuid', [1000]]), false);
    // A value of the template above the field (ebpf.ids whole): the partial event keeps it.
    assert.equal(valuesTest(setuid.ir, ['ebpf.kind', 'ebpf.ids']), null);
    // A getter that throws on the template's skeleton (ev.orchestrator?.resource.type under an orchestrator
    // built from another path): the partial event keeps it, and mayMatch says "may match" there.
    const orch = partialMatcher({ rules: loadRules({ bundled: false, paths: [writeRule('orch.yaml', 'ebpf.kind = open and orchestrator.resource.type = pod')] }).rules }, () => true).get('open');
    assert.ok(orch?.t === 'test');
    assert.equal(valuesTest(orch.ir, ['ebpf.kind', 'orchestrator.type']), null);
    const partial = emptyPartial();
    Object.assign(partial, { ebpf: { kind: 'open' }, orchestrator: { type: 'kubernetes' } });
    assert.equal(mayMatch(orch.may, partial), true);
    const noOrch = valuesTest(orch.ir, ['ebpf.kind']);
    assert.ok(noOrch);
    assert.equal(valuesMay(noOrch, ['open']), false);
    const arrays = valuesTest(open.ir, ['ebpf.kind', 'ebpf.open.flag_names', 'file.extension']);
    assert.ok(arrays);
    assert.equal(valuesMay(arrays, ['open', ['O_WRONLY', 'O_CREAT'], 'sh']), true);
    assert.equal(valuesMay(arrays, ['open', ['O_WRONLY'], 'sh']), false);
    assert.equal(valuesMay(valuesTest(open.ir, ['ebpf.kind', 'ebpf.open.flag_names'])!, ['open', ['O_CREAT']]), false);
    // An object the partial event would build from parts, or one path inside another: not by position.
    assert.equal(valuesTest(setuid.ir, ['ebpf.kind', 'ebpf.ids.requested.x']), null);
    assert.equal(valuesTest(setuid.ir, ['ebpf.kind', 'ebpf.ids', 'ebpf.ids.requested']), null);
  });

  test('a test that throws on a value answers "may match", as mayMatch does', () => {
    assert.equal(
      valuesMay(() => {
        throw new TypeError('broken');
      }, []),
      true,
    );
  });

  test('alerts-only replay: the full path\'s bytes, and no partial event built for a shape', async () => {
    const file = await writeCapture(join(dir, 'alerts.capture.gz'), rawEvents(7, 6000, 0.3), { blockBytes: 32 * 1024 });
    const built = { n: 0 };
    const shapeInto = CaptureBlock.prototype.shapeInto;
    CaptureBlock.prototype.shapeInto = function (this: CaptureBlock, ...a: Parameters<typeof shapeInto>): boolean {
      built.n++;
      return shapeInto.apply(this, a);
    };
    try {
      for (const rules of [{ bundled: true, paths: [] }, { bundled: false, paths: [RULES] }]) {
        built.n = 0;
        const fast = await replayToMemory([file], { events: 'alerts', rules });
        const fastBuilt = built.n;
        const full = await replayToMemory([file], { events: 'alerts', rules, noFastPath: true });
        assert.deepEqual(fast.lines, full.lines);
        assert.ok(fast.summary.skipped > 1000, `${fast.summary.skipped} skipped`);
        // Partial events are built only for (context, shape) pairs a shape leaves open, never per shape.
        const pairsOpen = fastBuilt;
        assert.ok(pairsOpen < fast.summary.skipped / 20, `${pairsOpen} partial events for ${fast.summary.skipped} skipped events`);
      }
      // A ruleset no shape of this capture can satisfy builds none at all.
      built.n = 0;
      const none = await replayToMemory([file], { events: 'alerts', rules: { bundled: false, paths: [writeRule('none.yaml', 'ebpf.kind = open and file.path = /nowhere/at/all')] } });
      assert.equal(none.lines.length, 0);
      assert.equal(built.n, 0);
    } finally {
      CaptureBlock.prototype.shapeInto = shapeInto;
    }
  });
});

function writeRule(name: string, condition: string): string {
  const f = join(dir, name);
  writeFileSync(f, `- rule: r\n  desc: d\n  condition: ${condition}\n  output: x\n  severity: low\n`);
  return f;
}
