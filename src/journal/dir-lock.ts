/**
 * One writer per journal directory. The LOCK file holds the writer's pid and
 * its start time (from /proc), so a lock left by a killed sensor is taken over
 * while a live one is refused, even after the pid was reused.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { SensorError } from '../errors.js';

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
        owner = readFileSync(path, 'latin1');
      } catch {
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
