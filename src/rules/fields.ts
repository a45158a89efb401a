/**
 * The field registry: every dotted name a rule condition or output template
 * may use, its type, whether it holds an array, and which event families
 * carry it. It is derived from the canonical model: the registry is typed as
 * an exhaustive record over the leaf paths of SensorEvent, so adding a field
 * to src/model/event.ts without registering it (or registering a name or type
 * the model does not have) fails the build.
 *
 * Types:
 *  - keyword: a string compared byte for byte (ECS keyword);
 *  - id: a keyword holding a decimal number (user.id, file.uid, …). `=`/`in`
 *    compare the decimal text (a number literal is written in canonical
 *    decimal, so `user.id = 0` and `user.id = "0"` are the same test), and
 *    `<`, `<=`, `>`, `>=` compare numerically;
 *  - long: a number; boolean.
 */
import { EVENT_KINDS, type EventKind, type SensorEvent } from '../model/event.js';

export type FieldType = 'keyword' | 'id' | 'long' | 'boolean';

/** A field's value as the engine reads it. */
export type FieldValue = string | number | boolean | readonly string[] | readonly number[] | undefined;

type Leaf = string | number | boolean;

/** Dotted leaf paths of T with their value types (arrays of leaves are leaves). */
type LeafPaths<T, P extends string = ''> = {
  [K in keyof T & string]-?: NonNullable<T[K]> extends Leaf
    ? { path: `${P}${K}`; type: NonNullable<T[K]> }
    : NonNullable<T[K]> extends ReadonlyArray<infer E>
      ? E extends Leaf
        ? { path: `${P}${K}`; type: E[] }
        : never
      : LeafPaths<NonNullable<T[K]>, `${P}${K}.`>;
}[keyof T & string];

type ModelLeaf = LeafPaths<SensorEvent>;
/** Every leaf path of the canonical event. */
export type ModelPath = ModelLeaf['path'];
type TypeOf<P extends ModelPath> = Extract<ModelLeaf, { path: P }>['type'];

/** The registry spelling of a model type: arrays end in []. */
type SpecFor<T> = T extends string[]
  ? 'keyword[]' | 'id[]'
  : T extends number[]
    ? 'long[]'
    : T extends string
      ? 'keyword' | 'id'
      : T extends number
        ? 'long'
        : T extends boolean
          ? 'boolean'
          : never;

/** Which families carry a field: 'all', or a list. */
type Carriers = 'all' | readonly EventKind[];

type Registry = { [P in ModelPath]: readonly [SpecFor<TypeOf<P>>, Carriers] };

const FILE_KINDS = [
  'exec',
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
  'module_load',
  'mount',
  'umount',
  'memfd_create',
] as const satisfies readonly EventKind[];
const PATH_KINDS = FILE_KINDS.filter((k) => k !== 'exec' && k !== 'module_load' && k !== 'memfd_create');
const NET_KINDS = ['connect', 'accept', 'bind', 'listen'] as const satisfies readonly EventKind[];
/** Families an io_uring operation can produce (ebpf.io_uring.*). */
const IO_URING_KINDS = ['open', 'unlink', 'rename', 'mkdir', 'symlink', 'link', 'xattr', 'connect', 'accept', 'io_uring_setup'] as const satisfies readonly EventKind[];

/*
 * One line per leaf of SensorEvent. The first element is the type, the
 * second the families whose events can carry the field (decode.ts decides
 * which; enrich adds process/parent/user names and container ids to all).
 */
const REGISTRY: Registry = {
  '@timestamp': ['keyword', 'all'],
  'event.id': ['keyword', 'all'],
  'event.sequence': ['long', 'all'],
  'event.action': ['keyword', 'all'],
  'event.outcome': ['keyword', 'all'],
  'process.pid': ['long', 'all'],
  'process.entity_id': ['keyword', 'all'],
  'process.name': ['keyword', 'all'],
  'process.executable': ['keyword', 'all'],
  'process.args': ['keyword[]', 'all'],
  'process.command_line': ['keyword', 'all'],
  'process.start': ['keyword', 'all'],
  'process.thread.id': ['long', 'all'],
  'process.working_directory': ['keyword', 'all'],
  'process.args_count': ['long', 'all'],
  'process.user.id': ['id', 'all'],
  'process.user.name': ['keyword', 'all'],
  'process.group.id': ['id', 'all'],
  'process.group.name': ['keyword', 'all'],
  'process.real_user.id': ['id', 'all'],
  'process.real_user.name': ['keyword', 'all'],
  'process.real_group.id': ['id', 'all'],
  'process.real_group.name': ['keyword', 'all'],
  'process.saved_user.id': ['id', 'all'],
  'process.saved_user.name': ['keyword', 'all'],
  'process.saved_group.id': ['id', 'all'],
  'process.saved_group.name': ['keyword', 'all'],
  'process.tty.char_device.major': ['long', 'all'],
  'process.tty.char_device.minor': ['long', 'all'],
  'process.interactive': ['boolean', 'all'],
  'process.exit_code': ['long', ['exit']],
  'process.env_vars': ['keyword[]', ['exec']],
  'process.end': ['keyword', ['exit']],
  'process.parent.pid': ['long', 'all'],
  'process.parent.entity_id': ['keyword', 'all'],
  'process.parent.name': ['keyword', 'all'],
  'process.parent.executable': ['keyword', 'all'],
  'process.parent.args': ['keyword[]', 'all'],
  'process.parent.command_line': ['keyword', 'all'],
  'process.parent.start': ['keyword', 'all'],
  'process.parent.user.id': ['id', 'all'],
  'process.parent.user.name': ['keyword', 'all'],
  'process.parent.group.id': ['id', 'all'],
  'process.parent.group.name': ['keyword', 'all'],
  'process.parent.working_directory': ['keyword', 'all'],
  'process.parent.interactive': ['boolean', 'all'],
  'process.parent.tty.char_device.major': ['long', 'all'],
  'process.parent.tty.char_device.minor': ['long', 'all'],
  'process.thread.capabilities.effective': ['keyword[]', 'all'],
  'process.thread.capabilities.permitted': ['keyword[]', 'all'],
  'process.session_leader.pid': ['long', 'all'],
  'process.session_leader.entity_id': ['keyword', 'all'],
  'process.session_leader.name': ['keyword', 'all'],
  'process.session_leader.executable': ['keyword', 'all'],
  'process.session_leader.args': ['keyword[]', 'all'],
  'process.session_leader.start': ['keyword', 'all'],
  'process.session_leader.user.id': ['id', 'all'],
  'process.session_leader.user.name': ['keyword', 'all'],
  'process.session_leader.group.id': ['id', 'all'],
  'process.session_leader.group.name': ['keyword', 'all'],
  'process.session_leader.entry_meta.type': ['keyword', 'all'],
  'process.group_leader.pid': ['long', 'all'],
  'process.group_leader.entity_id': ['keyword', 'all'],
  'process.group_leader.name': ['keyword', 'all'],
  'process.group_leader.executable': ['keyword', 'all'],
  'process.group_leader.args': ['keyword[]', 'all'],
  'process.group_leader.start': ['keyword', 'all'],
  'process.group_leader.user.id': ['id', 'all'],
  'process.group_leader.user.name': ['keyword', 'all'],
  'process.group_leader.group.id': ['id', 'all'],
  'process.group_leader.group.name': ['keyword', 'all'],
  'process.group_leader.entry_meta.type': ['keyword', 'all'],
  'process.entry_leader.pid': ['long', 'all'],
  'process.entry_leader.entity_id': ['keyword', 'all'],
  'process.entry_leader.name': ['keyword', 'all'],
  'process.entry_leader.executable': ['keyword', 'all'],
  'process.entry_leader.args': ['keyword[]', 'all'],
  'process.entry_leader.start': ['keyword', 'all'],
  'process.entry_leader.user.id': ['id', 'all'],
  'process.entry_leader.user.name': ['keyword', 'all'],
  'process.entry_leader.group.id': ['id', 'all'],
  'process.entry_leader.group.name': ['keyword', 'all'],
  'process.entry_leader.entry_meta.type': ['keyword', 'all'],
  'user.id': ['id', 'all'],
  'user.name': ['keyword', 'all'],
  'group.id': ['id', 'all'],
  'group.name': ['keyword', 'all'],
  'file.path': ['keyword', FILE_KINDS],
  'file.name': ['keyword', FILE_KINDS],
  'file.directory': ['keyword', FILE_KINDS],
  'file.extension': ['keyword', FILE_KINDS],
  'file.inode': ['id', ['exec', 'open']],
  'file.device': ['keyword', ['exec', 'open']],
  'file.mode': ['keyword', ['chmod', 'mkdir']],
  'file.uid': ['id', ['chown']],
  'file.gid': ['id', ['chown']],
  'file.owner': ['keyword', ['chown']],
  'file.group': ['keyword', ['chown']],
  'file.type': ['keyword', ['unlink', 'mkdir', 'symlink', 'mount']],
  'file.target_path': ['keyword', ['link', 'symlink']],
  'source.ip': ['keyword', NET_KINDS],
  'source.port': ['long', NET_KINDS],
  'source.address': ['keyword', NET_KINDS],
  'destination.ip': ['keyword', ['connect', 'accept']],
  'destination.port': ['long', ['connect', 'accept']],
  'destination.address': ['keyword', ['connect', 'accept']],
  'network.transport': ['keyword', NET_KINDS],
  'network.type': ['keyword', NET_KINDS],
  'network.direction': ['keyword', NET_KINDS],
  'network.iana_number': ['keyword', NET_KINDS],
  'container.id': ['keyword', 'all'],
  'container.runtime': ['keyword', 'all'],
  'container.name': ['keyword', 'all'],
  'orchestrator.type': ['keyword', 'all'],
  'orchestrator.namespace': ['keyword', 'all'],
  'orchestrator.resource.type': ['keyword', 'all'],
  'orchestrator.resource.name': ['keyword', 'all'],
  'orchestrator.resource.id': ['keyword', 'all'],
  'orchestrator.resource.label': ['keyword[]', 'all'],
  'ebpf.kind': ['keyword', 'all'],
  'ebpf.syscall': ['keyword', 'all'],
  'ebpf.ret': ['long', 'all'],
  'ebpf.errno': ['long', 'all'],
  'ebpf.error': ['keyword', 'all'],
  'ebpf.boot_ns': ['keyword', 'all'],
  'ebpf.cpu': ['long', 'all'],
  'ebpf.process.loginuid': ['id', 'all'],
  'ebpf.process.sessionid': ['long', 'all'],
  'ebpf.process.cgroup_id': ['keyword', 'all'],
  'ebpf.process.cgroup': ['keyword', 'all'],
  'ebpf.process.mntns': ['long', 'all'],
  'ebpf.process.pidns': ['long', 'all'],
  'ebpf.process.fsuid': ['id', 'all'],
  'ebpf.process.fsgid': ['id', 'all'],
  'ebpf.process.comm': ['keyword', 'all'],
  'ebpf.process.start_boot_ns': ['keyword', 'all'],
  'ebpf.process.parent_start_boot_ns': ['keyword', 'all'],
  'ebpf.process.is_thread': ['boolean', 'all'],
  'ebpf.process.sid': ['long', 'all'],
  'ebpf.process.pgid': ['long', 'all'],
  'ebpf.open.flags': ['long', ['open']],
  'ebpf.open.flag_names': ['keyword[]', ['open']],
  'ebpf.open.mode': ['keyword', ['open']],
  'ebpf.open.intent': ['keyword[]', ['open']],
  'ebpf.open.dirfd': ['long', ['open']],
  'ebpf.requested.path': ['keyword', ['exec', ...PATH_KINDS]],
  'ebpf.requested.target_path': ['keyword', ['rename', 'link', 'symlink']],
  'ebpf.source_file.path': ['keyword', ['rename', 'link']],
  'ebpf.source_file.name': ['keyword', ['rename', 'link']],
  'ebpf.source_file.directory': ['keyword', ['rename', 'link']],
  'ebpf.source_file.extension': ['keyword', ['rename', 'link']],
  'ebpf.truncated': ['keyword[]', 'all'],
  'ebpf.tampering.field': ['keyword', 'all'],
  'ebpf.tampering.at_entry': ['keyword', 'all'],
  'ebpf.tampering.at_exit': ['keyword', 'all'],
  'ebpf.tampering.syscall': ['keyword', 'all'],
  'ebpf.entry_lost': ['boolean', 'all'],
  'ebpf.path_source': ['keyword', PATH_KINDS],
  'ebpf.ids.requested': ['long[]', ['setuid', 'setgid']],
  'ebpf.ids.previous': ['id', ['setuid', 'setgid']],
  'ebpf.ptrace.request': ['long', ['ptrace']],
  'ebpf.ptrace.request_name': ['keyword', ['ptrace']],
  'ebpf.ptrace.target_pid': ['long', ['ptrace']],
  'ebpf.module.name': ['keyword', ['module_load']],
  'ebpf.module.params': ['keyword', ['module_load']],
  'ebpf.module.fd': ['long', ['module_load']],
  'ebpf.module.flags': ['long', ['module_load']],
  'ebpf.xattr.name': ['keyword', ['xattr']],
  'ebpf.xattr.namespace': ['keyword', ['xattr']],
  'ebpf.xattr.value_size': ['long', ['xattr']],
  'ebpf.xattr.flags': ['long', ['xattr']],
  'ebpf.xattr.value': ['keyword', ['xattr']],
  'ebpf.xattr.value_hex': ['keyword', ['xattr']],
  'ebpf.xattr.capabilities.permitted': ['keyword[]', ['xattr']],
  'ebpf.xattr.capabilities.inheritable': ['keyword[]', ['xattr']],
  'ebpf.xattr.capabilities.effective': ['boolean', ['xattr']],
  'ebpf.xattr.capabilities.revision': ['long', ['xattr']],
  'ebpf.xattr.capabilities.rootid': ['long', ['xattr']],
  'ebpf.utimes.atime': ['keyword', ['utimes']],
  'ebpf.utimes.mtime': ['keyword', ['utimes']],
  'ebpf.utimes.now': ['boolean', ['utimes']],
  'ebpf.utimes.flags': ['long', ['utimes']],
  'ebpf.process_vm.direction': ['keyword', ['process_vm']],
  'ebpf.process_vm.target.pid': ['long', ['process_vm']],
  'ebpf.process_vm.target.name': ['keyword', ['process_vm']],
  'ebpf.process_vm.target.executable': ['keyword', ['process_vm']],
  'ebpf.process_vm.target.entity_id': ['keyword', ['process_vm']],
  'ebpf.process_vm.requested_bytes': ['long', ['process_vm']],
  'ebpf.process_vm.bytes': ['long', ['process_vm']],
  'ebpf.process_vm.local_iov_count': ['long', ['process_vm']],
  'ebpf.process_vm.remote_iov_count': ['long', ['process_vm']],
  'ebpf.process_vm.remote_address': ['keyword', ['process_vm']],
  'ebpf.prctl.option': ['long', ['prctl']],
  'ebpf.prctl.option_name': ['keyword', ['prctl']],
  'ebpf.prctl.name': ['keyword', ['prctl']],
  'ebpf.prctl.previous_name': ['keyword', ['prctl']],
  'ebpf.process_group.pid': ['long', ['setpgid']],
  'ebpf.process_group.pgid': ['long', ['setpgid']],
  'ebpf.bpf.cmd': ['long', ['bpf']],
  'ebpf.bpf.cmd_name': ['keyword', ['bpf']],
  'ebpf.bpf.prog_type': ['long', ['bpf']],
  'ebpf.bpf.map_type': ['long', ['bpf']],
  'ebpf.bpf.name': ['keyword', ['bpf']],
  'ebpf.bpf.insn_cnt': ['long', ['bpf']],
  'ebpf.mount.source': ['keyword', ['mount']],
  'ebpf.mount.target': ['keyword', ['mount', 'umount']],
  'ebpf.mount.fstype': ['keyword', ['mount']],
  'ebpf.mount.flags': ['long', ['mount', 'umount']],
  'ebpf.mount.flag_names': ['keyword[]', ['mount']],
  'ebpf.namespaces.flags': ['long', ['unshare', 'setns']],
  'ebpf.namespaces.names': ['keyword[]', ['unshare', 'setns']],
  'ebpf.namespaces.fd': ['long', ['setns']],
  'ebpf.namespaces.path': ['keyword', ['setns']],
  'ebpf.capabilities.effective': ['keyword', ['capset']],
  'ebpf.capabilities.permitted': ['keyword', ['capset']],
  'ebpf.capabilities.inheritable': ['keyword', ['capset']],
  'ebpf.capabilities.target_pid': ['long', ['capset']],
  'ebpf.socket.family': ['keyword', NET_KINDS],
  'ebpf.socket.type': ['keyword', NET_KINDS],
  'ebpf.socket.protocol': ['long', NET_KINDS],
  'ebpf.socket.backlog': ['long', ['listen']],
  'ebpf.socket.path': ['keyword', NET_KINDS],
  'ebpf.io_uring.opcode': ['long', [...IO_URING_KINDS]],
  'ebpf.io_uring.operation': ['keyword', [...IO_URING_KINDS]],
  'ebpf.io_uring.setup.sq_entries': ['long', ['io_uring_setup']],
  'ebpf.io_uring.setup.cq_entries': ['long', ['io_uring_setup']],
  'ebpf.io_uring.setup.flags': ['long', ['io_uring_setup']],
  'ebpf.io_uring.setup.flag_names': ['keyword[]', ['io_uring_setup']],
  'ebpf.memfd.name': ['keyword', ['memfd_create']],
  'ebpf.memfd.flags': ['long', ['memfd_create']],
  'ebpf.chmod.mode': ['keyword', ['chmod']],
  'ebpf.chown.uid': ['long', ['chown']],
  'ebpf.chown.gid': ['long', ['chown']],
  'ebpf.loss.kernel': ['long', ['loss']],
  'ebpf.loss.reader': ['long', ['loss']],
  'ebpf.loss.per_cpu': ['long[]', ['loss']],
  'ebpf.loss.interval_s': ['long', ['loss']],
  'ebpf.loss.sink': ['keyword', ['loss']],
  'ebpf.loss.reason': ['keyword', ['loss']],
  'ebpf.loss.count': ['long', ['loss']],
  'ebpf.loss.from': ['long', ['loss']],
  'ebpf.loss.to': ['long', ['loss']],
  'ebpf.exec.filename': ['keyword', ['exec']],
  'ebpf.exec.stdio.stdin': ['keyword', ['exec']],
  'ebpf.exec.stdio.stdout': ['keyword', ['exec']],
  'ebpf.exec.stdio.stderr': ['keyword', ['exec']],
  'ebpf.kernel_kill.rule': ['keyword', ['exec', 'open']],
  'ebpf.exec.interpreter': ['keyword', ['exec']],
  'ebpf.exec.argv_truncated': ['boolean', ['exec']],
  'ebpf.exec.deleted': ['boolean', ['exec']],
  'ebpf.exec.args': ['keyword[]', ['exec']],
  'ebpf.provenance.writer.pid': ['long', ['exec']],
  'ebpf.provenance.writer.name': ['keyword', ['exec']],
  'ebpf.provenance.writer.executable': ['keyword', ['exec']],
  'ebpf.provenance.writer.entity_id': ['keyword', ['exec']],
  'ebpf.provenance.writer.start_boot_ns': ['id', ['exec']],
  'ebpf.provenance.writer.user.id': ['id', ['exec']],
  'ebpf.provenance.writer.connected_out': ['boolean', ['exec']],
  'ebpf.provenance.writer.parent_connected_out': ['boolean', ['exec']],
  'ebpf.provenance.written': ['keyword', ['exec']],
  'ebpf.provenance.created': ['boolean', ['exec']],
  'ebpf.provenance.io_uring': ['boolean', ['exec']],
  'ebpf.exit.status': ['long', ['exit']],
  'ebpf.exit.signal': ['long', ['exit']],
};

/** What the compiler knows about one field. */
export interface FieldSpec {
  name: string;
  type: FieldType;
  array: boolean;
  /** Families whose events can carry it. */
  kinds: ReadonlySet<EventKind>;
  /** Reads the value from an event (undefined when absent). */
  get: (ev: SensorEvent) => FieldValue;
}

/**
 * Getters of the fields rules use most, written out: each is its own
 * function, so each property load keeps its own inline cache. A shared
 * generic getter sees every field and event shape and goes megamorphic,
 * which cost a third of the evaluation time (bench/rules.ts).
 */
const HOT_GETTERS: Readonly<Record<string, (ev: SensorEvent) => FieldValue>> = {
  'process.executable': (ev) => ev.process.executable,
  'file.path': (ev) => ev.file?.path,
  'process.pid': (ev) => ev.process.pid,
  'ebpf.kind': (ev) => ev.ebpf.kind,
  'process.name': (ev) => ev.process.name,
  'event.action': (ev) => ev.event.action,
  'process.parent.executable': (ev) => ev.process.parent.executable,
  'event.outcome': (ev) => ev.event.outcome,
  'process.command_line': (ev) => ev.process.command_line,
  'process.args': (ev) => ev.process.args,
  'ebpf.exec.filename': (ev) => ev.ebpf.exec?.filename,
  'ebpf.exec.stdio.stdin': (ev) => ev.ebpf.exec?.stdio?.stdin,
  'ebpf.exec.stdio.stdout': (ev) => ev.ebpf.exec?.stdio?.stdout,
  'container.id': (ev) => ev.container?.id,
  'container.name': (ev) => ev.container?.name,
  'orchestrator.type': (ev) => ev.orchestrator?.type,
  'orchestrator.namespace': (ev) => ev.orchestrator?.namespace,
  'orchestrator.resource.type': (ev) => ev.orchestrator?.resource.type,
  'orchestrator.resource.name': (ev) => ev.orchestrator?.resource.name,
  'orchestrator.resource.id': (ev) => ev.orchestrator?.resource.id,
  'orchestrator.resource.label': (ev) => ev.orchestrator?.resource.label,
  'file.name': (ev) => ev.file?.name,
  'process.parent.pid': (ev) => ev.process.parent.pid,
  'ebpf.ptrace.target_pid': (ev) => ev.ebpf.ptrace?.target_pid,
  'ebpf.ptrace.request_name': (ev) => ev.ebpf.ptrace?.request_name,
  'ebpf.open.intent': (ev) => ev.ebpf.open?.intent,
  'ebpf.namespaces.names': (ev) => ev.ebpf.namespaces?.names,
  'process.parent.name': (ev) => ev.process.parent.name,
  'process.parent.args': (ev) => ev.process.parent.args,
  'ebpf.mount.source': (ev) => ev.ebpf.mount?.source,
  'ebpf.mount.fstype': (ev) => ev.ebpf.mount?.fstype,
  'ebpf.ids.requested': (ev) => ev.ebpf.ids?.requested,
  'ebpf.chmod.mode': (ev) => ev.ebpf.chmod?.mode,
  'network.type': (ev) => ev.network?.type,
  'file.directory': (ev) => ev.file?.directory,
  'user.id': (ev) => ev.user.id,
  'process.user.id': (ev) => ev.process.user.id,
  'ebpf.bpf.cmd_name': (ev) => ev.ebpf.bpf?.cmd_name,
  'destination.port': (ev) => ev.destination?.port,
  'destination.ip': (ev) => ev.destination?.ip,
  'process.parent.command_line': (ev) => ev.process.parent.command_line,
  'ebpf.process.loginuid': (ev) => ev.ebpf.process?.loginuid,
};

function getter(path: string): (ev: SensorEvent) => FieldValue {
  const hot = HOT_GETTERS[path];
  if (hot) return hot;
  const p = path.split('.');
  // Specialized closures: a generic loop over the parts costs a third of the
  // evaluation time on the hot path.
  switch (p.length) {
    case 1: {
      const [a] = p as [string];
      return (ev) => (ev as unknown as Record<string, FieldValue>)[a];
    }
    case 2: {
      const [a, b] = p as [string, string];
      return (ev) => (ev as unknown as Record<string, Record<string, FieldValue> | undefined>)[a]?.[b];
    }
    case 3: {
      const [a, b, c] = p as [string, string, string];
      return (ev) => (ev as unknown as Record<string, Record<string, Record<string, FieldValue> | undefined> | undefined>)[a]?.[b]?.[c];
    }
    default:
      return (ev) => {
        let o: unknown = ev;
        for (const k of p) {
          if (o === undefined || o === null) return undefined;
          o = (o as Record<string, unknown>)[k];
        }
        return o as FieldValue;
      };
  }
}

const ALL_KINDS: ReadonlySet<EventKind> = new Set(EVENT_KINDS);

/** name → spec, for every field rules may address. */
export const FIELDS: ReadonlyMap<string, FieldSpec> = new Map(
  Object.entries(REGISTRY).map(([name, [spec, carriers]]) => {
    const array = spec.endsWith('[]');
    const type = (array ? spec.slice(0, -2) : spec) as FieldType;
    const kinds = carriers === 'all' ? ALL_KINDS : new Set<EventKind>(carriers);
    return [name, { name, type, array, kinds, get: getter(name) }];
  }),
);

/** Look up a field; undefined when rules may not use that name. */
export function fieldSpec(name: string): FieldSpec | undefined {
  return FIELDS.get(name);
}

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
