/**
 * decode, opens (bpf/programs/open.bpf.c): open, openat, openat2, creat.
 *
 * Takes: an open record (record.ts) and the event built from its header.
 * Gives: the file opened (the kernel-resolved path, else the caller's
 * string against its base), the flags, their names and intent, the mode
 * of a creating open.
 */
import type { EbpfFacts, SensorEvent } from '../model/event.js';
import { StrFlags } from './abi.generated.js';
import { arg, arg32, fileFromPath, octal, resolveCallerPath, type FamilyRecord } from './record.js';
import { OpenArg, OpenStr } from './slots.js';
import { O_CREAT, openFlagNames, openIntent } from './syscall-tables.js';

export function decodeOpen(r: FamilyRecord, ev: SensorEvent, facts: EbpfFacts): void {
  const flags = arg(r, OpenArg.flags);
  const mode = arg(r, OpenArg.mode);
  const resolved = r.text(OpenStr.resolved, 'file.path');
  const caller = r.text(OpenStr.caller, 'ebpf.requested.path');
  const baseDir = r.text(OpenStr.base, 'ebpf.base');
  let path: string;
  if (resolved !== undefined && resolved !== '') {
    path = resolved;
    facts.path_source = 'file';
  } else {
    path = resolveCallerPath(caller ?? '', baseDir);
    facts.path_source = (caller ?? '').startsWith('/') ? 'absolute' : 'dirfd';
  }
  ev.file = fileFromPath(path);
  const resolvedSlot = r.slots[OpenStr.resolved];
  if (resolvedSlot && resolvedSlot.flags & StrFlags.SE_STR_DELETED) facts.path_source = 'file';
  const ino = arg(r, OpenArg.inode);
  if (ino) ev.file.inode = String(ino);
  if (caller !== undefined && caller !== path) facts.requested = { path: caller };
  facts.open = { flags, flag_names: openFlagNames(flags), intent: openIntent(flags), dirfd: arg32(r, OpenArg.dirfd) };
  if (flags & O_CREAT) facts.open.mode = octal(mode);
}
