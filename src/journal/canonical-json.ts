/**
 * journal/canonical-json: the canonical record of a journal payload —
 * exactly the text of `JSON.stringify(classifiedEvent)` — with the largest
 * repeated part of a live event written once instead of once per event.
 *
 * Takes: a classified event. Gives: its JSON as pieces to be written one
 * after another (no concatenation: the journal writes each straight into its
 * buffer); joined, they are byte for byte `JSON.stringify(ce)` (a property
 * test holds them equal).
 *
 * The capability lists of the acting task (`process.thread.capabilities`,
 * ≈ 1.3 kB for root: 41 names twice) are the same frozen arrays for every
 * event of the same sets (decode/syscall-tables.ts capNames). Their JSON is
 * written once per pair of lists; the rest of the event goes through
 * JSON.stringify with a placeholder in their place, which is then cut out.
 * (A JavaScript walker that writes the whole event from cached fragments was
 * measured first: 7.2 µs against JSON.stringify's 6.5 µs on the corpus —
 * V8's native serializer wins unless the fragments are large.)
 */
import type { ClassifiedEvent } from '../model/event.js';

/** Stands in for the capability lists while the rest is serialized; a key followed by `[]` occurs nowhere else unescaped. */
const PLACEHOLDER: readonly string[] = Object.freeze([]);
const MARK = '"capabilities":[]';
/** `"capabilities":` */
const KEY_END = MARK.length - 2;

/** effective list → permitted list → `{"effective":[…],"permitted":[…]}` */
const texts = new WeakMap<readonly string[], WeakMap<readonly string[], string>>();

function capsText(effective: readonly string[], permitted: readonly string[]): string {
  let byPermitted = texts.get(effective);
  if (!byPermitted) {
    byPermitted = new WeakMap();
    texts.set(effective, byPermitted);
  }
  let t = byPermitted.get(permitted);
  if (t === undefined) {
    t = JSON.stringify({ effective, permitted });
    byPermitted.set(permitted, t);
  }
  return t;
}

/** True when `caps` is exactly `{effective, permitted}` (in that order) of two frozen lists. */
function sharedLists(caps: unknown): caps is { effective: readonly string[]; permitted: readonly string[] } {
  if (caps === null || typeof caps !== 'object' || Object.getPrototypeOf(caps) !== Object.prototype) return false;
  let i = 0;
  for (const k in caps) {
    if ((i === 0 && k !== 'effective') || (i === 1 && k !== 'permitted') || i > 1) return false;
    i++;
  }
  const c = caps as { effective: unknown; permitted: unknown };
  return i === 2 && Array.isArray(c.effective) && Array.isArray(c.permitted) && Object.isFrozen(c.effective) && Object.isFrozen(c.permitted);
}

/**
 * `JSON.stringify(ce)` as pieces, into `out` (cleared first); returns their
 * total length in UTF-16 units.
 */
export function canonicalPieces(ce: ClassifiedEvent, out: string[]): number {
  out.length = 0;
  const thread = (ce.event as { process?: { thread?: { capabilities?: unknown } } } | undefined)?.process?.thread;
  const caps = thread?.capabilities;
  if (thread === undefined || !sharedLists(caps)) {
    const json = JSON.stringify(ce);
    out.push(json);
    return json.length;
  }
  const text = capsText(caps.effective, caps.permitted);
  let json: string;
  (thread as { capabilities: unknown }).capabilities = PLACEHOLDER;
  try {
    json = JSON.stringify(ce);
  } finally {
    thread.capabilities = caps;
  }
  const at = json.indexOf(MARK);
  if (at < 0 || json.indexOf(MARK, at + MARK.length) >= 0) {
    // Not found, or not alone (another key of that name holds an empty list): the plain way.
    const plain = JSON.stringify(ce);
    out.push(plain);
    return plain.length;
  }
  out.push(json.slice(0, at + KEY_END), text, json.slice(at + MARK.length));
  return json.length - 2 + text.length;
}

/** `JSON.stringify(ce)`, through canonicalPieces (tests, tools). */
export function canonicalJson(ce: ClassifiedEvent): string {
  const parts: string[] = [];
  canonicalPieces(ce, parts);
  return parts.join('');
}
