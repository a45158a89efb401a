/**
 * model, shared named user and group references: one frozen `{ id, name }`
 * object per pair, handed to every event that names it.
 *
 * Takes: a user or group id (and its name). Gives: the same UserRef object
 * for the same values, as long as the table holds it.
 *
 * An event names up to thirteen users and groups (the process's user, group,
 * real and saved ones, the event's own, the parent's, the leaders'); enrich
 * added a `name` member to each, which grows every one of those objects out
 * of line — a third of what enrich allocated per event (issue-14). It now
 * swaps in the shared named reference instead. Frozen, since one object
 * stands in many events: a change is a new reference, never an edit.
 * Decode still gives each event objects of its own (tests and replay edit
 * decoded events in place).
 */
import type { UserRef } from './event.js';

/** Entries per table before it is emptied (bounds a long run with many ids). */
const MAX = 4096;

const named = new Map<string, Map<string, UserRef>>();

/** The shared `{ id, name }`. */
export function namedUserRef(id: string, name: string): UserRef {
  let byName = named.get(id);
  if (byName === undefined) {
    if (named.size >= MAX) named.clear();
    byName = new Map();
    named.set(id, byName);
  }
  let u = byName.get(name);
  if (u === undefined) {
    u = Object.freeze({ id, name }) as UserRef;
    byName.set(name, u);
  }
  return u;
}
