/**
 * decode, file operations (bpf/programs/file_ops.bpf.c): unlink, rmdir,
 * truncate, mkdir, chmod, chown, rename, link, symlink.
 *
 * Takes: a record of one of these families (record.ts) and the event built
 * from its header. Gives: the file acted on (`file.*`, the source of a
 * rename or link in ebpf.source_file), modes and owners set, a symlink's
 * target.
 */
import type { EbpfFacts, SensorEvent } from '../model/event.js';
import { arg, arg32, fileFromPath, octal, pathTarget, resolveCallerPath, type FamilyRecord } from './record.js';
import { ChmodArg, ChownArg, MkdirArg, PathStr, UnlinkArg } from './slots.js';
import { AT_REMOVEDIR } from './syscall-tables.js';

/** unlink, truncate, mkdir, chmod, chown: one path and the family's arguments. */
export function decodePathOp(r: FamilyRecord, ev: SensorEvent, facts: EbpfFacts): void {
  pathTarget(r, ev, facts);
  const file = ev.file!;
  switch (r.kind) {
    case 'chmod': {
      const m = arg(r, ChmodArg.mode);
      facts.chmod = { mode: octal(m) };
      file.mode = octal(m);
      break;
    }
    case 'chown': {
      const u = arg32(r, ChownArg.uid);
      const g = arg32(r, ChownArg.gid);
      facts.chown = { uid: u, gid: g };
      if (u !== -1) file.uid = String(u >>> 0);
      if (g !== -1) file.gid = String(g >>> 0);
      break;
    }
    case 'mkdir':
      file.type = 'dir';
      file.mode = octal(arg(r, MkdirArg.mode));
      break;
    case 'unlink':
      if (arg(r, UnlinkArg.flags) & AT_REMOVEDIR || r.action === 'rmdir') file.type = 'dir';
      break;
    default:
      break;
  }
}

/** rename, link: the old path is the source, the new one the event's file. */
export function decodeRenameLink(r: FamilyRecord, ev: SensorEvent, facts: EbpfFacts): void {
  const oldP = r.text(PathStr.path, 'ebpf.source_file.path') ?? '';
  const newP = r.text(PathStr.second, 'file.path') ?? '';
  const oldPath = resolveCallerPath(oldP, r.text(PathStr.base, 'ebpf.base'));
  const newPath = resolveCallerPath(newP, r.text(PathStr.secondBase, 'ebpf.base'));
  ev.file = fileFromPath(newPath);
  const src = fileFromPath(oldPath);
  facts.source_file = { path: src.path, name: src.name!, directory: src.directory! };
  if (src.extension !== undefined) facts.source_file.extension = src.extension;
  if (r.kind === 'link') ev.file.target_path = oldPath;
}

/** symlink: slot 0 the target as given, slot 1 the link made (against slot 3's base). */
export function decodeSymlink(r: FamilyRecord, ev: SensorEvent, _facts: EbpfFacts): void {
  const target = r.text(PathStr.path, 'file.target_path') ?? '';
  const lp = r.text(PathStr.second, 'file.path') ?? '';
  const path = resolveCallerPath(lp, r.text(PathStr.secondBase, 'ebpf.base'));
  ev.file = fileFromPath(path);
  ev.file.type = 'symlink';
  ev.file.target_path = target;
}
