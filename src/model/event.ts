/**
 * The canonical event: what every stage after decode passes along, what the
 * journal stores and what capture files carry. Field names follow ECS where
 * ECS has a name; facts ECS lacks live under `ebpf.*`. It holds source facts
 * only: categorization, host/agent metadata and verdicts are added by the
 * normalizers, so replaying the same events through new rules is exact.
 *
 * Described for validation by schemas/event.schema.json (kept equal by a test).
 * `model/` is shared vocabulary, like `errors.ts`: every stage may import it.
 */

/** Event families: one per group of syscalls with the same shape. Rules are indexed by family. */
export const EVENT_KINDS = [
  'exec',
  'fork',
  'exit',
  'open',
  'unlink',
  'rename',
  'chmod',
  'chown',
  'link',
  'symlink',
  'truncate',
  'mkdir',
  'xattr',
  'utimes',
  'setuid',
  'setgid',
  'ptrace',
  'module_load',
  'bpf',
  'mount',
  'umount',
  'memfd_create',
  'unshare',
  'setns',
  'capset',
  'process_vm',
  'prctl',
  'setsid',
  'setpgid',
  'connect',
  'accept',
  'bind',
  'listen',
  'io_uring_setup',
  'tamper',
  'loss',
] as const;

export type EventKind = (typeof EVENT_KINDS)[number];

export type Outcome = 'success' | 'failure' | 'unknown';

/** ECS user reference; ids are keywords (decimal strings) as ECS declares them. */
export interface UserRef {
  id: string;
  name?: string;
}

export interface GroupRef {
  id: string;
  name?: string;
}

/** The parent (or any ancestor) of a process, as far as the sensor knows it. */
export interface ProcessRef {
  pid: number;
  entity_id?: string;
  name?: string;
  executable?: string;
  args?: string[];
  command_line?: string;
  /** ISO-8601 start time. */
  start?: string;
  /** Effective user and group (parent only: what Elastic's rules compare with the child's). */
  user?: UserRef;
  group?: GroupRef;
  working_directory?: string;
  interactive?: boolean;
  tty?: { char_device: { major: number; minor: number } };
}

/**
 * A session, process-group or entry leader (Elastic Session View): the
 * process that started the session (setsid), the process group (setpgid), or
 * the session's entry into the host (a terminal login, sshd, init, a container).
 */
export interface LeaderRef {
  pid: number;
  entity_id?: string;
  name?: string;
  executable?: string;
  args?: string[];
  start?: string;
  user?: UserRef;
  group?: GroupRef;
  /** Entry leader only: how the session was entered. */
  entry_meta?: { type: EntryType };
}

/** process.entry_leader.entry_meta.type values, as Elastic's endpoint writes them. */
export type EntryType = 'init' | 'sshd' | 'ssm' | 'kubelet' | 'teleport' | 'terminal' | 'console' | 'container' | 'unknown';

export interface ProcessInfo extends ProcessRef {
  entity_id: string;
  name: string;
  thread: {
    id: number;
    /** Capability names (CAP_SYS_ADMIN, …) of the acting task. */
    capabilities?: { effective: string[]; permitted: string[] };
  };
  session_leader?: LeaderRef;
  group_leader?: LeaderRef;
  entry_leader?: LeaderRef;
  /** exec: the new image's environment variables named in kernel.envVars, as NAME=value (ECS process.env_vars). */
  env_vars?: string[];
  /** exec: the image the process ran before this exec (ECS process.previous). */
  previous?: Array<{ executable?: string; args?: string[] }>;
  working_directory?: string;
  args_count?: number;
  /** Effective user/group (ECS process.user is the effective one). */
  user: UserRef;
  group: GroupRef;
  real_user: UserRef;
  real_group: GroupRef;
  saved_user: UserRef;
  saved_group: GroupRef;
  tty?: { char_device: { major: number; minor: number } };
  interactive?: boolean;
  exit_code?: number;
  end?: string;
  parent: ProcessRef;
}

export interface FileInfo {
  path: string;
  name?: string;
  directory?: string;
  extension?: string;
  inode?: string;
  device?: string;
  /** Octal permission bits as ECS writes them, e.g. "0644". */
  mode?: string;
  uid?: string;
  gid?: string;
  owner?: string;
  group?: string;
  type?: 'file' | 'dir' | 'symlink';
  target_path?: string;
}

export interface Endpoint {
  ip?: string;
  port?: number;
  address?: string;
}

export interface NetworkInfo {
  transport?: string;
  type?: 'ipv4' | 'ipv6' | 'unix';
  direction?: 'ingress' | 'egress' | 'listening' | 'unknown';
  iana_number?: string;
}

/** What a file descriptor refers to. */
export type FdKind = 'none' | 'file' | 'dir' | 'char' | 'fifo' | 'socket_inet' | 'socket_unix' | 'socket_other' | 'other';

/** Facts without an ECS name. */
export interface EbpfFacts {
  kind: EventKind;
  /** The syscall (or scheduler hook) that produced the event. */
  syscall: string;
  /** Raw return value; negative errno on failure. */
  ret?: number;
  errno?: number;
  /** Symbolic errno, e.g. "EACCES". */
  error?: string;
  /** Nanoseconds since boot at capture (decimal string: exceeds 2^53 over long uptimes). */
  boot_ns?: string;
  cpu?: number;
  /** Kernel-side facts about the acting process not in ECS. */
  process?: {
    loginuid?: string;
    sessionid?: number;
    cgroup_id?: string;
    cgroup?: string;
    mntns?: number;
    pidns?: number;
    fsuid?: string;
    fsgid?: string;
    comm?: string;
    /** The process's start_boottime in ns (decimal string). */
    start_boot_ns?: string;
    parent_start_boot_ns?: string;
    /** The acting task is a thread, not the thread group leader. */
    is_thread?: boolean;
    /** Session and process group ids (the kernel's, initial pid namespace). */
    sid?: number;
    pgid?: number;
  };
  /** open family: flags and their meaning. */
  open?: {
    flags: number;
    flag_names: string[];
    mode?: string;
    intent: Array<'read' | 'write' | 'create' | 'truncate' | 'append' | 'exec'>;
    dirfd?: number;
  };
  /** Paths as the caller gave them, when they differ from the resolved ones. */
  requested?: { path?: string; target_path?: string };
  /** The old name of a rename or the target of a link. */
  source_file?: { path: string; name?: string; directory?: string; extension?: string };
  /** Names of fields cut at a capture limit. */
  truncated?: string[];
  /** Caller strings changed between syscall entry and exit. */
  tampering?: { field: string; at_entry: string; at_exit: string; syscall: string };
  /** The syscall's entry state was missing (sensor started mid-call, or the entry map was full): caller strings were read at exit only. */
  entry_lost?: boolean;
  /** Where path strings were resolved from. */
  path_source?: 'file' | 'dirfd' | 'cwd' | 'absolute';
  /** Privilege changes: the ids asked for (-1 = unchanged). */
  ids?: {
    requested: number[];
    /** The effective uid (setuid family) or gid (setgid family) before the call, from the process table; the record is taken after it. */
    previous?: string;
  };
  ptrace?: { request: number; request_name: string; target_pid: number };
  module?: { name?: string; params?: string; fd?: number; flags?: number };
  /**
   * Extended attributes (setxattr / removexattr families): the attribute, the
   * value's size and, for the values that mean something, what they say.
   */
  xattr?: {
    name: string;
    /** The part before the first dot: security, trusted, system, user. */
    namespace?: string;
    /** setxattr family: the value's size in bytes. */
    value_size?: number;
    /** XATTR_CREATE (1) / XATTR_REPLACE (2). */
    flags?: number;
    /** The value when it is text (SELinux, SMACK, AppArmor labels; user.* tags), its first 256 bytes. */
    value?: string;
    /** The value's first 256 bytes in hex when it is not text. */
    value_hex?: string;
    /** security.capability: the file capabilities the value grants. */
    capabilities?: {
      permitted: string[];
      inheritable: string[];
      /** The effective bit: the permitted set is raised at exec. */
      effective: boolean;
      /** VFS_CAP_REVISION_1..3. */
      revision: number;
      /** Revision 3 (namespaced file capabilities): the root uid of the user namespace. */
      rootid?: number;
    };
  };
  /** utimensat / futimesat / utimes / utime: the times asked for (ISO-8601, "now" or "omit"). */
  utimes?: {
    atime: string;
    mtime: string;
    /** The call passed no times: both are now (touch). */
    now: boolean;
    /** AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH. */
    flags?: number;
  };
  /** process_vm_writev / process_vm_readv: the other process and what was copied. */
  process_vm?: {
    direction: 'write' | 'read';
    target: { pid: number; name?: string; executable?: string; entity_id?: string };
    /** Bytes the remote ranges asked for (the first 8 iovecs). */
    requested_bytes: number;
    /** Bytes copied (success). */
    bytes?: number;
    local_iov_count: number;
    remote_iov_count: number;
    /** The first remote address, hex. */
    remote_address: string;
  };
  /** prctl(PR_SET_NAME): the process renamed itself. */
  prctl?: { option: number; option_name: string; name?: string; previous_name?: string };
  /** setpgid: the process and group asked for (0: the caller / the pid itself). */
  process_group?: { pid: number; pgid: number };
  bpf?: { cmd: number; cmd_name: string; prog_type?: number; map_type?: number; name?: string; insn_cnt?: number };
  mount?: { source?: string; target?: string; fstype?: string; flags: number; flag_names?: string[] };
  namespaces?: { flags: number; names: string[]; fd?: number; path?: string };
  capabilities?: { effective: string; permitted: string; inheritable: string; target_pid: number };
  socket?: { family: string; type?: string; protocol?: number; backlog?: number; path?: string };
  memfd?: { name: string; flags: number };
  /**
   * io_uring: the operation of a ring that produced this event (the event is
   * otherwise the same as its syscall's), or what a new ring asked for.
   */
  io_uring?: {
    opcode?: number;
    operation?: string;
    setup?: { sq_entries: number; cq_entries: number; flags: number; flag_names: string[] };
  };
  chmod?: { mode: string };
  chown?: { uid: number; gid: number };
  /**
   * Lost-event accounting (kind 'loss'): kernel ring full / reader stalls over
   * interval_s, or (sink set, kernel and reader 0) journal positions [from, to)
   * that sink will never get, by reason (retention while it lagged, damage).
   */
  loss?: {
    kernel: number;
    reader: number;
    per_cpu?: number[];
    interval_s: number;
    sink?: string;
    reason?: 'retention' | 'damaged';
    count?: number;
    from?: number;
    to?: number;
  };
  /** exec: the executable was resolved from the kernel's struct file. */
  exec?: {
    filename: string;
    interpreter?: string;
    argv_truncated?: boolean;
    args?: string[];
    /** What fds 0-2 were at exec: a shell whose stdin/stdout is an internet socket is a reverse shell. */
    stdio?: { stdin: FdKind; stdout: FdKind; stderr: FdKind };
    /** The executable file had no name left when it started (unlinked: run from an fd after deletion, or replaced on disk). */
    deleted?: boolean;
  };
  /**
   * exec: who last wrote the executed file (none for a #! script: see
   * docs/kernel.md), as the kernel remembered it (bounded LRU keyed by dev + inode;
   * absent when no write was seen). docs/outputs.md, "Provenance".
   */
  provenance?: ProvenanceFacts;
  /** The kernel killed the process (bpf_send_signal) for an in-kernel kill rule. */
  kernel_kill?: { rule: string };
  /** exit: raw wait(2) status and the signal that ended the process, if any. */
  exit?: { status: number; signal?: number };
}

/** The writer of an executed file (ebpf.provenance). */
export interface ProvenanceFacts {
  writer: {
    pid: number;
    /** The writer's comm when it wrote (the name it ran under: `pip`, `curl`, `ld`). */
    name: string;
    /** The writer's executable (absent when the kernel no longer knew it). */
    executable?: string;
    /** The writer's process entity (the same id its own events carry). */
    entity_id: string;
    /** The writer's start, ns since boot (what entity_id is made from). */
    start_boot_ns: string;
    user: { id: string };
    /** The writer had connected to a remote address (not loopback or unspecified) before writing. */
    connected_out: boolean;
    /** An ancestor had connected out before forking the writer (inherited; not the writer itself). */
    parent_connected_out: boolean;
  };
  /** When the writer last opened the file for writing (or wrote it through a ring). */
  written: string;
  /** The write opened with O_CREAT or O_TRUNC: a new content. */
  created: boolean;
  /** The write went through an io_uring ring. */
  io_uring: boolean;
}

/** The canonical event. */
export interface SensorEvent {
  /** ISO-8601 with nanoseconds, e.g. "2026-11-23T16:12:00.123456789Z". */
  '@timestamp': string;
  event: {
    id: string;
    sequence: number;
    action: string;
    outcome: Outcome;
  };
  process: ProcessInfo;
  user: UserRef;
  group: GroupRef;
  file?: FileInfo;
  source?: Endpoint;
  destination?: Endpoint;
  network?: NetworkInfo;
  container?: { id: string; runtime?: string; name?: string };
  /** The Kubernetes pod of the container (src/enrich/pods.ts: from the node's files). */
  orchestrator?: OrchestratorInfo;
  ebpf: EbpfFacts;
}

/** ECS orchestrator.*: the pod a container runs in. */
export interface OrchestratorInfo {
  type: 'kubernetes';
  namespace?: string;
  /** label: `key:value` of the pod's labels, from the API server (kubernetes.podLabels; src/enrich/pod-api.ts). */
  resource: { type: 'pod'; id: string; name?: string; label?: readonly string[] };
}

// The types that travel with the event, in files of their own; re-exported so
// that a stage imports the vocabulary from one place.
export type { ClassifiedEvent, KillReport, RuleMatch, Severity, Verdict } from './verdict.js';
export type { AgentInfo, HostInfo } from './host.js';
export type { EventRoute, OutputFormat, ShippedEvent } from './route.js';
export { routeOf } from './route.js';
export { topSeverity } from './severity.js';
