/**
 * An append-only file bounded by size: once the next write would take it
 * past `maxBytes`, it is renamed FILE.1 (FILE.1 becomes FILE.2 … and the
 * oldest beyond `keep` is deleted) and a new FILE is started. Used by the
 * file output and by dead-letter files.
 *
 * Writes are synchronous and whole: one write never straddles two files, so
 * a file exceeds `maxBytes` by at most one write (a batch). A rotation
 * fsyncs the file it closes, so rotated files are complete on disk. fsync
 * runs on the event loop (sync()) or in the thread pool (syncInBackground(),
 * the file output's periodic sync); an fd is closed only after a background
 * fsync still running on it.
 */
import { closeSync, existsSync, fstatSync, fsync, fsyncSync, ftruncateSync, mkdirSync, openSync, renameSync, rmSync, writeSync, writevSync } from 'node:fs';
import { dirname } from 'node:path';
import { SensorError } from '../errors.js';

export interface RotatingFileOptions {
  path: string;
  /** Rotate once a write would take the file past this size; 0 = never rotate. */
  maxBytes: number;
  /** Rotated files kept (FILE.1 … FILE.keep). */
  keep: number;
  /** Mode of new files and of a created parent directory's files (default 0600). */
  mode?: number;
  /** Create the parent directory (0700) when missing. */
  createDir?: boolean;
}

export class RotatingFile {
  private fd = -1;
  private bytes = 0;
  /** Background fsyncs running, and the fds to close once none runs (a running fsync may be on them). */
  private syncing = 0;
  private readonly closeAfterSync: number[] = [];
  /** Rotations since open. */
  rotations = 0;
  /** Successful fsyncs (sync, syncInBackground, rotation and close). */
  fsyncs = 0;

  constructor(private readonly o: RotatingFileOptions) {
    if (!Number.isInteger(o.keep) || o.keep < 1) throw new SensorError('ESENSOR_SINK_CONFIG', `keep must be an integer >= 1, got ${o.keep}`, { field: 'keep', file: o.path });
    if (!(o.maxBytes >= 0)) throw new SensorError('ESENSOR_SINK_CONFIG', `maxBytes must be >= 0, got ${o.maxBytes}`, { field: 'maxBytes', file: o.path });
    this.open();
  }

  get path(): string {
    return this.o.path;
  }

  /** Current size of FILE. */
  get size(): number {
    return this.bytes;
  }

  /** Append `data` in full (rotating first when it would not fit). */
  write(data: string | Buffer): void {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (this.fd < 0) throw new SensorError('ESENSOR_OUTPUT', `${this.o.path} is closed`, { file: this.o.path });
    if (this.o.maxBytes > 0 && this.bytes > 0 && this.bytes + buf.length > this.o.maxBytes) this.rotate();
    let off = 0;
    while (off < buf.length) {
      try {
        off += writeSync(this.fd, buf, off, buf.length - off);
      } catch (e) {
        if (retry(e)) continue;
        this.failed(e, off > 0);
      }
    }
    this.bytes += buf.length;
  }

  /**
   * Append `parts` one after another in full, as one write would (rotating
   * first when they would not fit): writev(2), so bytes that lie elsewhere
   * (a replay's line chunks) reach the file without a copy into one buffer.
   */
  writev(parts: readonly Buffer[]): void {
    if (parts.length === 1) return this.write(parts[0]!);
    if (this.fd < 0) throw new SensorError('ESENSOR_OUTPUT', `${this.o.path} is closed`, { file: this.o.path });
    let total = 0;
    for (const p of parts) total += p.length;
    if (this.o.maxBytes > 0 && this.bytes > 0 && this.bytes + total > this.o.maxBytes) this.rotate();
    let rest = parts;
    let done = 0;
    while (done < total) {
      let n: number;
      try {
        n = writevSync(this.fd, rest);
      } catch (e) {
        if (retry(e)) continue;
        this.failed(e, done > 0);
      }
      done += n;
      // A short write (a signal, a full disk): go on after the bytes written.
      if (done < total) {
        let i = 0;
        while (n >= rest[i]!.length) n -= rest[i++]!.length;
        const next = rest.slice(i);
        next[0] = next[0]!.subarray(n);
        rest = next;
      }
    }
    this.bytes += total;
  }

  /** A write failed: throws ESENSOR_OUTPUT, the file cut back to its last whole write when part of this one is in it. */
  private failed(e: unknown, partly: boolean): never {
    const code = (e as NodeJS.ErrnoException).code;
    // Part of the batch may be on disk (a full disk takes what fits): cut the file back to the
    // end of the last whole write, so a retry appends whole lines after whole lines, not after
    // half of one (an unparsable line, then the batch again).
    if (partly) {
      try {
        ftruncateSync(this.fd, this.bytes);
      } catch {
        // Nothing more to do: the error below is what the caller must know.
      }
    }
    throw new SensorError('ESENSOR_OUTPUT', `cannot write to ${this.o.path}: ${(e as Error).message}`, {
      cause: e,
      file: this.o.path,
      retriable: code === 'ENOSPC' || code === 'EDQUOT',
    });
  }

  /** fsync the current file. */
  sync(): void {
    if (this.fd >= 0) {
      fsyncSync(this.fd);
      this.fsyncs++;
    }
  }

  /**
   * fsync the current file in the thread pool: what was written before the
   * call is durable once it resolves (what a rotation meanwhile closed was
   * fsync'ed by the rotation). Rejects with ESENSOR_OUTPUT (retriable).
   */
  syncInBackground(): Promise<void> {
    const fd = this.fd;
    if (fd < 0) return Promise.resolve();
    this.syncing++;
    return new Promise((res, rej) => {
      fsync(fd, (err) => {
        if (--this.syncing === 0) for (const old of this.closeAfterSync.splice(0)) closeSync(old);
        if (!err) {
          this.fsyncs++;
          res();
          return;
        }
        rej(
          new SensorError('ESENSOR_OUTPUT', `cannot fsync ${this.o.path}: ${err.message}`, {
            cause: err,
            file: this.o.path,
            retriable: true,
          }),
        );
      });
    });
  }

  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    try {
      fsyncSync(fd);
      this.fsyncs++;
    } finally {
      if (this.syncing > 0) this.closeAfterSync.push(fd);
      else closeSync(fd);
    }
  }

  private open(): void {
    try {
      if (this.o.createDir) mkdirSync(dirname(this.o.path), { recursive: true, mode: 0o700 });
      this.fd = openSync(this.o.path, 'a', this.o.mode ?? 0o600);
      this.bytes = fstatSync(this.fd).size;
    } catch (e) {
      throw new SensorError('ESENSOR_OUTPUT', `cannot open ${this.o.path}: ${(e as Error).message}`, { cause: e, file: this.o.path });
    }
  }

  private rotate(): void {
    const p = this.o.path;
    this.close();
    try {
      for (let i = this.o.keep - 1; i >= 1; i--) {
        if (existsSync(`${p}.${i}`)) renameSync(`${p}.${i}`, `${p}.${i + 1}`);
      }
      // keep = 1: FILE.1 is simply replaced.
      renameSync(p, `${p}.1`);
      // A larger keep earlier may have left older files behind.
      for (let i = this.o.keep + 1; existsSync(`${p}.${i}`); i++) rmSync(`${p}.${i}`, { force: true });
    } catch (e) {
      // Reopen whatever is there: keep writing rather than lose events.
      this.open();
      throw new SensorError('ESENSOR_OUTPUT', `cannot rotate ${p}: ${(e as Error).message}`, { cause: e, file: p, retriable: true });
    }
    this.rotations++;
    this.open();
  }
}

/** An error a write is simply tried again after. */
function retry(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'EAGAIN' || code === 'EINTR';
}
