/**
 * The closed value sets of a few fields, per event family.
 *
 * Takes: nothing (the decoder's syscall names, model/actions.ts). Gives:
 * ACTIONS_OF_KIND, SYSCALLS_OF_KIND and CLOSED_VALUES, with which the
 * compiler decides which families a rule can match (compile/specialize.ts).
 */
import { EVENT_KINDS, type EventKind } from '../model/event.js';

/** event.action values per family (model/actions.ts): Elastic's endpoint vocabulary. */
export { ACTIONS_OF_KIND } from '../model/actions.js';

/**
 * ebpf.syscall values per family: the syscall names decode.ts produces
 * (SYSCALL_NAMES and its per-family defaults). A unit test keeps this equal
 * to the decoder.
 */
export const SYSCALLS_OF_KIND: Readonly<Record<EventKind, readonly string[]>> = {
  exec: ['execve', 'execveat'],
  fork: ['fork'],
  exit: ['exit'],
  open: ['open', 'openat', 'openat2', 'creat', 'write', 'writev'],
  unlink: ['unlink', 'unlinkat', 'rmdir'],
  rename: ['rename', 'renameat', 'renameat2'],
  chmod: ['chmod', 'fchmod', 'fchmodat', 'fchmodat2'],
  chown: ['chown', 'fchown', 'lchown', 'fchownat'],
  link: ['link', 'linkat'],
  symlink: ['symlink', 'symlinkat'],
  truncate: ['truncate', 'ftruncate'],
  mkdir: ['mkdir', 'mkdirat'],
  setuid: ['setuid', 'setreuid', 'setresuid', 'setfsuid'],
  setgid: ['setgid', 'setregid', 'setresgid', 'setfsgid'],
  ptrace: ['ptrace'],
  xattr: ['setxattr', 'lsetxattr', 'fsetxattr', 'setxattrat', 'removexattr', 'lremovexattr', 'fremovexattr', 'removexattrat'],
  utimes: ['utimensat', 'futimesat', 'utimes', 'utime'],
  module_load: ['init_module', 'finit_module', 'delete_module'],
  bpf: ['bpf'],
  mount: ['mount', 'move_mount', 'fsmount'],
  umount: ['umount2'],
  memfd_create: ['memfd_create'],
  unshare: ['unshare'],
  setns: ['setns'],
  capset: ['capset'],
  process_vm: ['process_vm_writev', 'process_vm_readv'],
  prctl: ['prctl'],
  setsid: ['setsid'],
  setpgid: ['setpgid'],
  connect: ['connect'],
  accept: ['accept', 'accept4'],
  bind: ['bind'],
  listen: ['listen'],
  io_uring_setup: ['io_uring_setup'],
  tamper: ['argument-tampering'],
  loss: ['events-lost'],
};

/** The closed value sets of a few keyword fields, used to decide which families a rule can match. */
export const CLOSED_VALUES: Readonly<Record<string, readonly string[]>> = {
  'ebpf.kind': EVENT_KINDS,
  'event.outcome': ['success', 'failure', 'unknown'],
  'ebpf.open.intent': ['read', 'write', 'create', 'truncate', 'append', 'exec'],
};
