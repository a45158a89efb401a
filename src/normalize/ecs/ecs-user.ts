/**
 * normalize/ecs users: the `{"id":…,"name":…}` text of a user or group in an
 * ECS line (ecs-process.ts, ecs-serializer.ts), memoized by value.
 *
 * Takes: UserRef. Gives: its text exactly as `ecsJson(toEcs())` writes it; the
 * same string object while id and name are the same (callers compare texts
 * by reference). Nothing written while `text.raw` is set is kept.
 */
import type { UserRef } from '../../model/event.js';
import { MEMO_MAX, q, text } from './ecs-text.js';

function put<K, V>(m: Map<K, V>, k: K, v: V): void {
  if (m.size >= MEMO_MAX) m.clear();
  m.set(k, v);
}

const unnamed = new Map<string, string>();
const named = new Map<string, Map<string, string>>();

let lastId: string | undefined;
let lastName: string | undefined;
let lastText = '';

/** `{"id":…,"name":…}` of a user or group, memoized by value (no key string built per call). */
export function user(u: UserRef): string {
  const name = u.name;
  // Most users of a line are one user (root, or the process's): its last text answers without a table lookup.
  if (u.id === lastId && name === lastName) return lastText;
  const s = userText(u.id, name);
  if (!text.raw) {
    lastId = u.id;
    lastName = name;
    lastText = s;
  }
  return s;
}

function userText(id: string, name: string | undefined): string {
  if (name === undefined) {
    let s = unnamed.get(id);
    if (s === undefined) {
      s = `{"id":${q(id)}}`;
      if (!text.raw) put(unnamed, id, s);
    }
    return s;
  }
  let byName = named.get(id);
  let s = byName?.get(name);
  if (s === undefined) {
    s = `{"id":${q(id)},"name":${q(name)}}`;
    if (text.raw) return s;
    if (byName === undefined) {
      byName = new Map();
      put(named, id, byName);
    }
    put(byName, name, s);
  }
  return s;
}
