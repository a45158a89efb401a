/**
 * One writer per journal directory. The LOCK file holds the writer's pid and
 * its start time (from /proc), so a lock left by a killed sensor is taken over
 * while a live one is refused, even after the pid was reused.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { SensorError } from '../errors.js';
import { openOwn, READ_NOFOLLOW } from './dir-safety.js';

/** The LOCK file's text: never through a symlink (ESENSOR_JOURNAL_UNSAFE), a regular file, its first 64 bytes. */
function readLock(path: string): string {
  const fd = openOwn(path, READ_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw new SensorError('ESENSOR_JOURNAL_UNSAFE', 'is not a regular file: refusing to read it as the journal lock', { file: path });
    const buf = Buffer.alloc(64);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('latin1');
  } finally {
    closeSync(fd);
  }
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), or undefined if it is gone. */
function startTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // comm (field 2) may hold spaces and parentheses: fields after it start at the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

const heldHere = new Set<string>();

export class DirLock {
  private constructor(private readonly path: string) {}

  /** Take the lock on `dir`, or throw ESENSOR_JOURNAL_IO naming the process that holds it. */
  static acquire(dir: string): DirLock {
    const path = `${dir}/LOCK`;
    if (heldHere.has(path)) {
      throw new SensorError('ESENSOR_JOURNAL_IO', `journal ${dir} is already open for writing in this process`, { file: path });
    }
    const me = `${process.pid} ${startTicks(process.pid) ?? '?'}\n`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o600);
        try {
          writeSync(fd, me);
        } finally {
          closeSync(fd);
        }
        heldHere.add(path);
        return new DirLock(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new SensorError('ESENSOR_JOURNAL_IO', `cannot create journal lock ${path}: ${(e as Error).message}`, { cause: e, file: path });
        }
      }
      let owner = '';
      try {
        owner = readLock(path);
      } catch (e) {
        if (e instanceof SensorError) throw e;
        // vanished between open and read: try again
      }
      const [pidText, ticks] = owner.trim().split(' ');
      const pid = Number(pidText);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && ticks !== undefined && startTicks(pid) === ticks) {
        throw new SensorError('ESENSOR_JOURNAL_IO', `journal ${dir} is in use by process ${pid}`, { file: path, retriable: true });
      }
      try {
        unlinkSync(path); // stale: its writer is gone
      } catch {
        // someone else removed it first
      }
    }
    throw new SensorError('ESENSOR_JOURNAL_IO', `cannot take journal lock ${path}: another process keeps taking it`, { file: path, retriable: true });
  }

  release(): void {
    heldHere.delete(this.path);
    try {
      unlinkSync(this.path);
    } catch {
      // already gone; nothing to release
    }
  }
}
