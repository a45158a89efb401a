// issue-14: the ECS line reaches the journal as pieces: each per-event value
// (timestamp, ids, numbers) a piece of its own between cached literals, so no
// string is concatenated and flattened per event, and the cached fragments
// (host + agent, the event head, capabilities, the process tail, user + group)
// with their UTF-8 bytes, encoded once and copied by the journal. These tests
// hold the bytes equal to their text, the pieces' join to the reference
// builder, and payload.ts writeParts to the UTF-8 of the joined text for any
// strings (non-ASCII, surrogate pairs, LS/PS), with and without bytes.
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ecsParts } from '../../src/normalize/ecs/ecs-serializer.js';
import { ecsJson, toEcs } from '../../src/normalize/ecs/ecs.js';
import { writeParts } from '../../src/journal/payload.js';
import { HOST, AGENT } from '../helpers/normalize-corpus.js';
import { base } from '../helpers/hostile-events.js';

test('issue-14: per-event values are pieces of their own; cached fragments carry their exact UTF-8 bytes', () => {
  let withBytes = 0;
  for (let round = 0; round < 2; round++) {
    for (const ce of base) {
      const ref = ecsJson(toEcs(ce, HOST, AGENT));
      const { parts, bytes, count, plain } = ecsParts(ce, HOST, AGENT);
      const list = parts.slice(0, count);
      assert.equal(list.join(''), ref, ce.event.event.id);
      if (!plain) continue; // the reference builder's line: one part
      // The timestamp and the event id are written as they are, alone (no concatenation per event).
      assert.ok(list.includes(ce.event['@timestamp']), `${ce.event.event.id}: @timestamp is a piece`);
      assert.ok(list.includes(ce.event.event.id), `${ce.event.event.id}: event.id is a piece`);
      for (let i = 0; i < count; i++) {
        const b = bytes[i];
        if (b === undefined) continue;
        withBytes++;
        assert.ok(Buffer.from(list[i]!, 'utf8').equals(b), `part ${i} of ${ce.event.event.id}: bytes are its UTF-8`);
      }
    }
  }
  // host + agent, the head, the users at least, once the caches are warm.
  assert.ok(withBytes >= base.length * 3, `${withBytes} parts with bytes`);
});

test('issue-14: writeParts writes the UTF-8 of the joined parts, bytes or not (any strings)', () => {
  const piece = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.constantFrom('', '"', '\u2028', '\u2029', 'é', '😀', 'x'.repeat(300), '/usr/lib/locale/C.UTF-8/LC_CTYPE'),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(piece, fc.boolean()), { maxLength: 30 }), fc.nat({ max: 7 }), (ps, at) => {
      const parts = ps.map(([s]) => s);
      // Well-formed strings only get bytes (as the serializer's cached fragments: never raw).
      const bytes = ps.map(([s, b]) => (b && s.isWellFormed() ? new Uint8Array(Buffer.from(s, 'utf8')) : undefined));
      const want = Buffer.from(parts.join(''), 'utf8');
      const buf = Buffer.alloc(at + want.length + 16, 0xaa);
      const end = writeParts(buf, at, parts, parts.length, bytes);
      assert.equal(end - at, want.length);
      assert.ok(buf.subarray(at, end).equals(want));
      assert.equal(buf[end], 0xaa, 'nothing written past the end');
    }),
    { numRuns: 300 },
  );
});
