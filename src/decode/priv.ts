/**
 * decode, privilege and kernel (bpf/programs/priv.bpf.c): setuid/setgid,
 * ptrace, module loads, bpf(2), mount/umount, memfd_create, unshare/setns,
 * capset.
 *
 * Takes: a record of one of these families (record.ts) and the event built
 * from its header. Gives: the family's facts (`ebpf.ids`, `ebpf.ptrace`,
 * `ebpf.module`, `ebpf.bpf`, `ebpf.mount`, `ebpf.memfd`,
 * `ebpf.namespaces`, `ebpf.capabilities`) and the file named, if any.
 */
import type { EbpfFacts, SensorEvent } from '../model/event.js';
import { decodeHook } from './hooks.js';
import { arg, arg32, argHex, fileFromPath, hookView, pathTarget, resolveCallerPath, type FamilyRecord } from './record.js';
import {
  BpfArg,
  BpfStr,
  CapsetArg,
  IdsArg,
  MemfdArg,
  MemfdStr,
  ModuleArg,
  ModuleStr,
  MountArg,
  MountStr,
  PtraceArg,
  SetnsArg,
  SetnsStr,
  UnshareArg,
} from './slots.js';
import { BPF_CMDS, BPF_MAP_CREATE, BPF_PROG_LOAD, MOUNT_FLAGS, PTRACE_REQUESTS, namespaceFlagNames } from './syscall-tables.js';

/** Namespace flag → the name nsfs gives its files (/proc/PID/ns/NAME). */
const NS_FILE_NAME: Record<string, string> = {
  CLONE_NEWNS: 'mnt',
  CLONE_NEWUTS: 'uts',
  CLONE_NEWIPC: 'ipc',
  CLONE_NEWUSER: 'user',
  CLONE_NEWPID: 'pid',
  CLONE_NEWNET: 'net',
  CLONE_NEWCGROUP: 'cgroup',
  CLONE_NEWTIME: 'time',
};

/** setuid/setgid families: the ids asked for, as many as the syscall takes (setresuid 3, setreuid 2). */
export function decodeIds(r: FamilyRecord, _ev: SensorEvent, facts: EbpfFacts): void {
  const req = [arg32(r, IdsArg.first), arg32(r, IdsArg.second), arg32(r, IdsArg.third)];
  const n = /res/.test(r.action) ? 3 : /re/.test(r.action) ? 2 : 1;
  facts.ids = { requested: req.slice(0, n) };
}

export function decodePtrace(r: FamilyRecord, _ev: SensorEvent, facts: EbpfFacts): void {
  const request = arg(r, PtraceArg.request);
  facts.ptrace = {
    request,
    request_name: PTRACE_REQUESTS[request] ?? `PTRACE_${request}`,
    target_pid: arg32(r, PtraceArg.targetPid),
  };
}

export function decodeModule(r: FamilyRecord, ev: SensorEvent, facts: EbpfFacts): void {
  const path = r.text(ModuleStr.path, 'file.path');
  const params = r.text(ModuleStr.params, 'ebpf.module.params');
  facts.module = {};
  if (params) facts.module.params = params;
  if (r.action === 'finit_module') facts.module.fd = arg32(r, ModuleArg.fd);
  if (r.action === 'delete_module') decodeHook(r.kind, ev, facts, hookView(r));
  if (path) {
    ev.file = fileFromPath(path);
    facts.module.name = (ev.file.name ?? '').replace(/\.ko(\.(xz|gz|zst))?$/, '');
  }
}

export function decodeBpf(r: FamilyRecord, _ev: SensorEvent, facts: EbpfFacts): void {
  const cmd = arg(r, BpfArg.cmd);
  const name = r.text(BpfStr.name, 'ebpf.bpf.name');
  facts.bpf = { cmd, cmd_name: BPF_CMDS[cmd] ?? `BPF_${cmd}` };
  if (cmd === BPF_PROG_LOAD) {
    facts.bpf.prog_type = arg(r, BpfArg.type);
    facts.bpf.insn_cnt = arg(r, BpfArg.count);
  } else if (cmd === BPF_MAP_CREATE) {
    facts.bpf.map_type = arg(r, BpfArg.type);
  }
  const clean = name?.replace(/\0.*$/s, '');
  if (clean) facts.bpf.name = clean;
}

export function decodeMount(r: FamilyRecord, ev: SensorEvent, facts: EbpfFacts): void {
  const source = r.text(MountStr.source, 'ebpf.mount.source');
  const target = r.text(MountStr.target, 'ebpf.mount.target') ?? '';
  const fstype = r.text(MountStr.fstype, 'ebpf.mount.fstype');
  const path = resolveCallerPath(target, r.text(MountStr.targetBase, 'ebpf.base'));
  const flags = arg(r, MountArg.flags);
  facts.mount = { target: path, flags };
  const names = MOUNT_FLAGS.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
  if (names.length) facts.mount.flag_names = names;
  if (source !== undefined) facts.mount.source = source;
  if (fstype !== undefined) facts.mount.fstype = fstype;
  ev.file = fileFromPath(path);
  ev.file.type = 'dir';
}

/** umount: a one-path operation (slot 0 the target, slot 2 its base). */
export function decodeUmount(r: FamilyRecord, ev: SensorEvent, facts: EbpfFacts): void {
  const path = pathTarget(r, ev, facts);
  facts.mount = { target: path, flags: arg(r, MountArg.flags) };
}

export function decodeMemfd(r: FamilyRecord, ev: SensorEvent, facts: EbpfFacts): void {
  const path = r.text(MemfdStr.path, 'file.path');
  const name = r.text(MemfdStr.name, 'ebpf.memfd.name') ?? '';
  facts.memfd = { name, flags: arg(r, MemfdArg.flags) };
  ev.file = fileFromPath(path && path !== '' ? path : `/memfd:${name}`);
}

/** unshare (flags) and setns (fd, nstype, the namespace file). */
export function decodeNamespaces(r: FamilyRecord, _ev: SensorEvent, facts: EbpfFacts): void {
  const setns = r.kind === 'setns';
  const flags = arg(r, setns ? SetnsArg.nstype : UnshareArg.flags);
  facts.namespaces = { flags, names: namespaceFlagNames(flags) };
  if (setns) {
    facts.namespaces.fd = arg32(r, SetnsArg.fd);
    const p = r.text(SetnsStr.path, 'ebpf.namespaces.path');
    const ino = arg(r, SetnsArg.inode);
    if (p && p !== '/') facts.namespaces.path = p;
    else if (ino) facts.namespaces.path = `${NS_FILE_NAME[facts.namespaces.names[0] ?? ''] ?? 'ns'}:[${ino}]`;
  }
}

export function decodeCapset(r: FamilyRecord, _ev: SensorEvent, facts: EbpfFacts): void {
  const hex = (i: number): string => argHex(r.rec, r.base, i, 16);
  facts.capabilities = {
    target_pid: arg32(r, CapsetArg.targetPid),
    effective: hex(CapsetArg.effective),
    permitted: hex(CapsetArg.permitted),
    inheritable: hex(CapsetArg.inheritable),
  };
}
