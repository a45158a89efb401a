// issue-14: the journal's canonical record is written with the capability
// lists (frozen, shared per set) from a cache and the rest by JSON.stringify
// around a placeholder; joined, the pieces are exactly JSON.stringify(ce) —
// also when strings or other keys look like the placeholder, and for lists
// that are not frozen (read back from a journal or a capture).
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson, canonicalPieces } from '../../src/journal/canonical-json.js';
import { capNames } from '../../src/decode/syscall-tables.js';
import type { ClassifiedEvent } from '../../src/model/event.js';
import { corpus } from '../helpers/normalize-corpus.js';

const base = corpus();
const tricky = fc.constantFrom('"capabilities":[]', '\\"capabilities\\":[]', 'x', '\u2028', '\ud800', '😀', '{"a":[]}', '');

test('issue-14: canonicalJson equals JSON.stringify on corpus events with shared, unshared, empty and odd capability lists', () => {
  const d = fc.check(
    fc.property(
      fc.nat({ max: base.length - 1 }),
      fc.constantFrom('full', 'none', 'copy', 'absent', 'extra-key', 'reordered'),
      tricky,
      tricky,
      fc.boolean(),
      (i, caps, name, arg, otherKey) => {
        const ce = structuredClone(base[i]!) as ClassifiedEvent;
        const p = ce.event.process;
        const full = capNames(0xffffffff, 0x1ff);
        const none = capNames(0, 0);
        assert.ok(Object.isFrozen(full) && Object.isFrozen(none), 'capNames hands out frozen lists');
        if (caps === 'full') p.thread.capabilities = { effective: full, permitted: full };
        else if (caps === 'none') p.thread.capabilities = { effective: none, permitted: full };
        else if (caps === 'copy') p.thread.capabilities = { effective: full.slice(), permitted: full.slice() };
        else if (caps === 'absent') delete p.thread.capabilities;
        else if (caps === 'extra-key') p.thread.capabilities = Object.assign({ effective: full, permitted: none }, { x: 1 });
        else p.thread.capabilities = { permitted: full, effective: none } as never;
        p.name = name;
        p.args = [arg, name];
        if (otherKey) (ce.event.ebpf as unknown as Record<string, unknown>).capabilities = [] as never;
        const want = JSON.stringify(ce);
        const got = canonicalJson(ce);
        if (got !== want) throw new Error(`differs: ${got.slice(0, 200)} vs ${want.slice(0, 200)}`);
        // the event is left as it was
        assert.equal(JSON.stringify(ce), want);
        const parts: string[] = [];
        assert.equal(canonicalPieces(ce, parts), want.length);
      },
    ),
    { numRuns: 400 },
  );
  if (d.failed) assert.fail(`seed ${d.seed}: ${(d.errorInstance as Error)?.message}`);
});

test('issue-14: the capability lists of a shared set are written once, not serialized per event', () => {
  const ce = structuredClone(base[0]!) as ClassifiedEvent;
  const full = capNames(0xffffffff, 0x1ff);
  ce.event.process.thread.capabilities = { effective: full, permitted: full };
  const parts: string[] = [];
  canonicalPieces(ce, parts);
  assert.equal(parts.length, 3);
  assert.equal(parts[1], JSON.stringify({ effective: full, permitted: full }));
  const again: string[] = [];
  canonicalPieces(structuredClone(ce) as ClassifiedEvent, again);
  assert.equal(again.length, 1, 'lists that are not the shared frozen ones go the plain way');
});
