/**
 * The journal's own files, and only those: takes a directory (the journal
 * or its cursors) and gives nothing but a SensorError when it is not safe to
 * write, and the open flags that refuse symlinks.
 *
 * Why: the sensor runs as root and truncates, writes and deletes files by
 * name in these directories. In a directory others can write, a planted
 * symlink named like a segment would make it truncate and overwrite the
 * link's target (any file on the host). So an existing directory must be a
 * real directory (not a symlink) owned by the sensor's user and not writable
 * by group or others, its parent must not let others replace it, and every
 * file is opened with O_NOFOLLOW.
 */
import { constants, lstatSync, openSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SensorError } from '../errors.js';

/** Open flags: never follow a symlink at the last component. */
export const NOFOLLOW = constants.O_NOFOLLOW;
/** Create or truncate for writing, refusing symlinks. */
export const WRITE_NOFOLLOW = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
/** Read and write an existing file, refusing symlinks. */
export const RW_NOFOLLOW = constants.O_RDWR | constants.O_NOFOLLOW;
/** Read an existing file, refusing symlinks. */
export const READ_NOFOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW;

function unsafe(dir: string, why: string): SensorError {
  return new SensorError('ESENSOR_JOURNAL_UNSAFE', `${why}: refusing to write in it (docs/security.md)`, { file: dir });
}

/**
 * Throw ESENSOR_JOURNAL_UNSAFE unless `dir` (which exists) is a directory,
 * not a symlink, owned by this process's user, not writable by group or
 * others, and its parent is not writable by others without the sticky bit.
 */
export function assertOwnDirectory(dir: string): void {
  const euid = process.geteuid?.() ?? 0;
  let st: Stats;
  try {
    st = lstatSync(dir);
  } catch (e) {
    throw new SensorError('ESENSOR_JOURNAL_IO', `cannot inspect ${dir}: ${(e as Error).message}`, { cause: e, file: dir });
  }
  if (st.isSymbolicLink()) throw unsafe(dir, 'is a symbolic link');
  if (!st.isDirectory()) throw unsafe(dir, 'is not a directory');
  if (st.uid !== euid) throw unsafe(dir, `is owned by uid ${st.uid}, not by the sensor's user (uid ${euid})`);
  if (st.mode & 0o022) throw unsafe(dir, `is writable by ${st.mode & 0o002 ? 'others' : 'its group'} (mode ${(st.mode & 0o777).toString(8)}); chmod go-w`);
  const parent = dirname(resolve(dir));
  if (parent === resolve(dir)) return;
  let pst: Stats;
  try {
    pst = lstatSync(parent);
  } catch {
    return;
  }
  // Others could rename the directory away and put their own in its place.
  if (pst.mode & 0o002 && !(pst.mode & 0o1000) /* sticky */) throw unsafe(dir, `is in ${parent}, which others can write (mode ${(pst.mode & 0o7777).toString(8)})`);
  if (pst.uid !== 0 && pst.uid !== euid) throw unsafe(dir, `is in ${parent}, owned by uid ${pst.uid}`);
}

/**
 * openSync with O_NOFOLLOW: a symlink where a journal file should be is
 * ESENSOR_JOURNAL_UNSAFE (ELOOP); other errors are thrown as they are.
 */
export function openOwn(path: string, flags: number, mode?: number): number {
  try {
    return openSync(path, flags, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw unsafe(path, 'is a symbolic link where a journal file should be');
    throw e;
  }
}
