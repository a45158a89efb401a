/**
 * decode, process lifecycle (bpf/programs/process.bpf.c): exec, fork, exit.
 *
 * Takes: a record of one of these families (record.ts) and the event built
 * from its header. Gives: the new image (args — shared per argv, see
 * exec-args.ts — executable, working
 * directory, environment allow-list, stdio kinds, provenance of the file)
 * or the file a failed exec tried to run; the child of a fork; an exit's
 * status and signal.
 */
import { posix } from 'node:path';
import type { EbpfFacts, FdKind, SensorEvent } from '../model/event.js';
import { OFFSETOF, RecordFlags, StrFlags, FdKind as FdKinds } from './abi.generated.js';
import { execArgs, NO_ARGS } from './exec-args.js';
import { execEnv } from './exec-env.js';
import { decodeProvenance } from './provenance.js';
import { arg, fileFromPath, resolveCallerPath, repeatingU64, type FamilyRecord } from './record.js';
import { ExecArg, ExecStr, ExitArg, ForkArg } from './slots.js';

const E = OFFSETOF.se_event;

const FD_KIND_NAMES: Readonly<Record<number, FdKind>> = {
  [FdKinds.SE_FD_NONE]: 'none',
  [FdKinds.SE_FD_FILE]: 'file',
  [FdKinds.SE_FD_DIR]: 'dir',
  [FdKinds.SE_FD_CHAR]: 'char',
  [FdKinds.SE_FD_FIFO]: 'fifo',
  [FdKinds.SE_FD_SOCK_INET]: 'socket_inet',
  [FdKinds.SE_FD_SOCK_UNIX]: 'socket_unix',
  [FdKinds.SE_FD_SOCK_OTHER]: 'socket_other',
  [FdKinds.SE_FD_OTHER]: 'other',
};

function fdKind(v: number): FdKind {
  return FD_KIND_NAMES[v & 0xff] ?? 'other';
}

export function decodeExec(r: FamilyRecord, ev: SensorEvent, facts: EbpfFacts): void {
  const { rec, base, slots, truncated } = r;
  const filename = r.text(ExecStr.filename, 'ebpf.exec.filename') ?? '';
  const argvSlot = slots[ExecStr.argv];
  // One frozen array (and command line) per distinct argv, shared by every exec of it.
  const argv = argvSlot && argvSlot.len > 0 ? execArgs(rec, base + argvSlot.off, base + argvSlot.off + argvSlot.len) : NO_ARGS;
  const args = argv.args;
  if (argvSlot && argvSlot.flags & StrFlags.SE_STR_TRUNCATED) truncated.push('process.args');
  const cwd = r.text(ExecStr.cwd, 'process.working_directory');
  const exe = r.text(ExecStr.exe, 'process.executable');
  const argc = arg(r, ExecArg.argc);
  facts.exec = { filename };
  if (r.hflags & RecordFlags.SE_F_ARGV_TRUNCATED) facts.exec.argv_truncated = true;
  if (r.outcome === 'failure') {
    // The image did not change: process.* stays the caller (filled by
    // enrich); the file it tried to run is the event's file.
    facts.exec.args = args;
    ev.file = fileFromPath(resolveCallerPath(filename, cwd));
    if (filename !== ev.file.path) facts.requested = { path: filename };
    return;
  }
  const stdio = arg(r, ExecArg.stdio);
  facts.exec.stdio = { stdin: fdKind(stdio), stdout: fdKind(stdio >> 8), stderr: fdKind(stdio >> 16) };
  ev.process.args = args;
  ev.process.args_count = argc || args.length;
  ev.process.command_line = argv.commandLine;
  const env = execEnv(rec, base, r.recLen);
  if (env) {
    if (env.vars.length) ev.process.env_vars = env.vars;
    if (env.truncated) truncated.push('process.env_vars');
  }
  if (cwd !== undefined) ev.process.working_directory = cwd;
  const executable = exe !== undefined && exe !== '' ? exe : resolveCallerPath(filename, cwd);
  ev.process.executable = executable;
  const exeSlot = slots[ExecStr.exe];
  if (exeSlot && exeSlot.flags & StrFlags.SE_STR_DELETED) facts.exec.deleted = true;
  ev.process.name = posix.basename(executable) || facts.process!.comm!;
  ev.file = fileFromPath(executable);
  const inode = arg(r, ExecArg.inode);
  if (inode) ev.file.inode = String(inode);
  const prov = decodeProvenance(rec, base, r.recLen, (hi, lo) => r.clock.iso(hi, lo));
  if (prov) facts.provenance = prov;
}

export function decodeFork(r: FamilyRecord, ev: SensorEvent, facts: EbpfFacts): void {
  const { rec, base } = r;
  const childPid = arg(r, ForkArg.childPid);
  const childTid = arg(r, ForkArg.childTid);
  const startAt = base + E.args + ForkArg.childStartNs * 8;
  const csLo = rec.readUInt32LE(startAt);
  const csHi = rec.readUInt32LE(startAt + 4);
  // The header describes the parent (the forking task).
  ev.process.parent = { pid: ev.process.pid, name: ev.process.name, start: ev.process.start! };
  ev.process.pid = childPid;
  ev.process.thread = { id: childTid };
  ev.process.start = r.clock.startIso(csHi, csLo);
  facts.process!.parent_start_boot_ns = facts.process!.start_boot_ns!;
  facts.process!.start_boot_ns = repeatingU64.of(rec, startAt);
}

export function decodeExit(r: FamilyRecord, ev: SensorEvent, facts: EbpfFacts): void {
  const status = arg(r, ExitArg.status);
  const sig = arg(r, ExitArg.signal);
  ev.process.exit_code = sig ? 128 + sig : (status >> 8) & 0xff;
  ev.process.end = ev['@timestamp'];
  facts.exit = { status };
  if (sig) facts.exit.signal = sig;
}
