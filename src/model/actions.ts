/**
 * event.action vocabulary: the names Elastic's endpoint (Elastic Defend)
 * writes for the same behaviour, so Elastic Security's prebuilt rules and
 * Session View read our documents as they read its own (`exec`, `fork`,
 * `end`, `creation`, `connection_attempted`, `uid_change`, …). The syscall
 * that produced the event keeps a field of its own, `ebpf.syscall`.
 *
 * Takes: a canonical event (its family, and for opens the intent decode
 * derived from the flags). Gives: its event.action. Decode sets it; enrich
 * upgrades events recorded before this vocabulary (their action was the
 * syscall), so journals and captures of older versions replay the same way.
 * `model/` is shared vocabulary: decode, enrich, rules and normalize read it.
 */
import type { EventKind, SensorEvent } from './event.js';

/**
 * Every event.action a family can carry. A family with several actions lists
 * the one a fixture gets by default first.
 */
export const ACTIONS_OF_KIND: Readonly<Record<EventKind, readonly string[]>> = {
  exec: ['exec'],
  fork: ['fork'],
  exit: ['end'],
  // An open is a creation when it may create the file (O_CREAT, O_TMPFILE), a
  // modification when it opens for writing, and an open otherwise.
  open: ['open', 'creation', 'modification'],
  unlink: ['deletion'],
  rename: ['rename'],
  chmod: ['attributes_modified'],
  chown: ['attributes_modified'],
  link: ['creation'],
  symlink: ['creation'],
  truncate: ['modification'],
  mkdir: ['creation'],
  // Extended attributes and times are file attributes, as chmod/chown.
  xattr: ['attributes_modified'],
  utimes: ['attributes_modified'],
  setuid: ['uid_change'],
  setgid: ['gid_change'],
  ptrace: ['ptrace'],
  module_load: ['load_module', 'unload_module'],
  bpf: ['bpf'],
  mount: ['mount'],
  umount: ['unmount'],
  memfd_create: ['memfd_create'],
  unshare: ['unshare'],
  setns: ['setns'],
  capset: ['capabilities_change'],
  // No endpoint word for these: named after what happened, as ptrace/bpf are.
  process_vm: ['memory_write', 'memory_read'],
  prctl: ['name_change'],
  // Elastic's word for a new session; a process group by analogy.
  setsid: ['session_id_change'],
  setpgid: ['process_group_change'],
  connect: ['connection_attempted'],
  accept: ['connection_accepted'],
  bind: ['bind'],
  listen: ['listen'],
  io_uring_setup: ['io_uring_setup'],
  tamper: ['argument-tampering'],
  loss: ['events-lost'],
};

/** The event.action of one event, from its family (and an open's intent). */
export function endpointAction(ev: Pick<SensorEvent, 'ebpf'>): string {
  const kind = ev.ebpf.kind;
  if (kind === 'open') {
    const intent = ev.ebpf.open?.intent ?? [];
    if (intent.includes('create')) return 'creation';
    if (intent.includes('write') || intent.includes('truncate') || intent.includes('append')) return 'modification';
    return 'open';
  }
  if (kind === 'module_load' && ev.ebpf.syscall === 'delete_module') return 'unload_module';
  if (kind === 'process_vm' && ev.ebpf.syscall === 'process_vm_readv') return 'memory_read';
  return ACTIONS_OF_KIND[kind][0]!;
}

/**
 * Set event.action from the vocabulary when the event still carries a
 * syscall name there (recorded by a version before it). Idempotent.
 */
export function upgradeAction(ev: SensorEvent): void {
  const a = ev.event.action;
  if (ACTIONS_OF_KIND[ev.ebpf.kind].includes(a) && (ACTIONS_OF_KIND[ev.ebpf.kind].length === 1 || a === endpointAction(ev))) return;
  ev.event.action = endpointAction(ev);
}
