/**
 * normalize/ecs/session: the ECS fields of Elastic's Session View and of the
 * prebuilt rules that read process context — the session, process-group and
 * entry leaders, the previous image of an exec'd process, the task's
 * capabilities, the parent's user/group/working directory/interactivity/tty.
 *
 * Takes: the canonical process (ProcessInfo) and the string guards of ecs.ts
 * (raw kernel bytes become U+FFFD there and are kept in ebpf.raw_bytes).
 * Gives: fields added to the process and parent objects ecs.ts builds, in a
 * fixed order (the output stays byte-for-byte deterministic). Pure.
 */
import type { LeaderRef, ProcessInfo, ProcessRef, UserRef } from '../../model/event.js';

/** ecs.ts's string guards: field name → a JSON-safe string (or list). */
export interface TextGuards {
  text(field: string, v: string): string;
  textList(field: string, list: readonly string[]): string[];
}

function userOf(g: TextGuards, field: string, u: UserRef): Record<string, string> {
  const o: Record<string, string> = { id: g.text(`${field}.id`, u.id) };
  if (u.name !== undefined) o.name = g.text(`${field}.name`, u.name);
  return o;
}

function leaderOf(g: TextGuards, field: string, l: LeaderRef, self: ProcessInfo): Record<string, unknown> {
  const o: Record<string, unknown> = { pid: l.pid };
  if (l.entity_id !== undefined) o.entity_id = g.text(`${field}.entity_id`, l.entity_id);
  if (l.name !== undefined) o.name = g.text(`${field}.name`, l.name);
  if (l.executable !== undefined) o.executable = g.text(`${field}.executable`, l.executable);
  if (l.args !== undefined && l.args.length) {
    o.args = g.textList(`${field}.args`, l.args);
    o.args_count = l.args.length;
  }
  if (l.start !== undefined) o.start = l.start;
  if (l.user !== undefined) o.user = userOf(g, `${field}.user`, l.user);
  if (l.group !== undefined) o.group = userOf(g, `${field}.group`, l.group);
  if (l.entry_meta !== undefined) o.entry_meta = { type: l.entry_meta.type };
  o.same_as_process = l.pid === self.pid && (l.entity_id === undefined || l.entity_id === self.entity_id);
  return o;
}

/** Adds thread.capabilities, previous and the three leaders to `o` (process). */
export function addSessionFields(g: TextGuards, o: Record<string, unknown>, p: ProcessInfo): void {
  const caps = p.thread.capabilities;
  if (caps) {
    const t = o.thread as Record<string, unknown>;
    // ECS wants no empty arrays: an empty set is left out.
    const c: Record<string, string[]> = {};
    if (caps.effective.length) c.effective = caps.effective.slice();
    if (caps.permitted.length) c.permitted = caps.permitted.slice();
    if (c.effective || c.permitted) t.capabilities = c;
  }
  // ECS 9.4 declares process.previous an object: the image just before this one.
  const prev = p.previous?.[p.previous.length - 1];
  if (prev) {
    const v: Record<string, unknown> = {};
    if (prev.executable !== undefined) v.executable = g.text('process.previous.executable', prev.executable);
    if (prev.args?.length) {
      v.args = g.textList('process.previous.args', prev.args);
      v.args_count = prev.args.length;
    }
    o.previous = v;
  }
  if (p.session_leader) o.session_leader = leaderOf(g, 'process.session_leader', p.session_leader, p);
  if (p.group_leader) o.group_leader = leaderOf(g, 'process.group_leader', p.group_leader, p);
  if (p.entry_leader) o.entry_leader = leaderOf(g, 'process.entry_leader', p.entry_leader, p);
}

/** Adds the parent's user, group, working directory, interactivity and tty to `o` (process.parent). */
export function addParentFields(g: TextGuards, o: Record<string, unknown>, p: ProcessRef): void {
  if (p.working_directory !== undefined) o.working_directory = g.text('process.parent.working_directory', p.working_directory);
  if (p.interactive !== undefined) o.interactive = p.interactive;
  if (p.tty) o.tty = { char_device: { major: p.tty.char_device.major, minor: p.tty.char_device.minor } };
  if (p.user !== undefined) o.user = userOf(g, 'process.parent.user', p.user);
  if (p.group !== undefined) o.group = userOf(g, 'process.parent.group', p.group);
}
