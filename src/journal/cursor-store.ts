/**
 * Per-sink cursors: `cursors/<name>.cursor`, one small JSON file each, replaced
 * atomically (write a temp file, fsync it, rename it over the old one, fsync
 * the directory), so a crash leaves either the old or the new position.
 *
 * Read like the segments (docs/security.md): opened with O_NOFOLLOW (a
 * symlink named like a cursor is ESENSOR_JOURNAL_UNSAFE, never followed:
 * its target's bytes could otherwise reach a log line), checked through the
 * open fd — a regular file of at most 4 KiB, and for the writer owned by the
 * sensor's user and not writable by group or others.
 */
import { closeSync, constants, fstatSync, mkdirSync, readdirSync, readSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SensorError } from '../errors.js';
import { assertOwnDirectory, openOwn, READ_NOFOLLOW, WRITE_NOFOLLOW } from './dir-safety.js';

/** Version of the cursor file layout. */
export const CURSOR_FORMAT = 1;

const SUFFIX = '.cursor';
/** A cursor file is one short JSON line; anything larger is not ours. */
const MAX_CURSOR_BYTES = 4096;

/** Sink names may hold any character (file:/var/log/x): keep [A-Za-z0-9_-], escape the rest as %XX of UTF-8. */
export function cursorFileName(name: string): string {
  let out = '';
  for (const b of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9_-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (!name || out.length > 200) {
    throw new SensorError('ESENSOR_SINK_CONFIG', `sink name "${name.slice(0, 64)}" cannot name a journal cursor (empty or too long)`, {
      field: 'name',
    });
  }
  return out + SUFFIX;
}

export interface StoredCursor {
  position: number;
  /** ms since the epoch of the commit. */
  committedAt: number;
}

export interface CursorLoad {
  cursors: Map<string, StoredCursor>;
  /** Cursor files that could not be read, with why. */
  bad: Array<{ file: string; reason: string }>;
}

export class CursorStore {
  readonly dir: string;
  private readonly chains = new Map<string, Promise<void>>();

  /** The writer's cursors must be its own files (owner and mode); a read-only reader only refuses links. */
  private readonly own: boolean;

  constructor(journalDir: string, create: boolean) {
    this.dir = join(journalDir, 'cursors');
    this.own = create;
    if (create) {
      try {
        mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      } catch (e) {
        throw new SensorError('ESENSOR_JOURNAL_IO', `cannot create ${this.dir}: ${(e as Error).message}`, { cause: e, file: this.dir });
      }
      assertOwnDirectory(this.dir);
    }
  }

  /** Read every cursor file. A damaged one is reported in `bad`, not thrown: its sink restarts from the oldest record. */
  load(): CursorLoad {
    const cursors = new Map<string, StoredCursor>();
    const bad: CursorLoad['bad'] = [];
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { cursors, bad };
      throw new SensorError('ESENSOR_JOURNAL_IO', `cannot list ${this.dir}: ${(e as Error).message}`, { cause: e, file: this.dir });
    }
    for (const f of names) {
      if (!f.endsWith(SUFFIX) || f.startsWith('.')) continue;
      const file = join(this.dir, f);
      const text = this.readCursorFile(file);
      try {
        let doc: { format?: unknown; name?: unknown; position?: unknown; committedAt?: unknown };
        try {
          doc = JSON.parse(text) as typeof doc;
        } catch {
          // Not the parser's message: it quotes the file's bytes.
          throw new Error('not valid JSON');
        }
        if (doc === null || typeof doc !== 'object') throw new Error('not a JSON object');
        if (doc.format !== CURSOR_FORMAT) throw new Error(`unknown cursor format ${String(doc.format)}`);
        if (typeof doc.name !== 'string' || cursorFileName(doc.name) !== f) throw new Error('name does not match the file name');
        if (typeof doc.position !== 'number' || !Number.isSafeInteger(doc.position) || doc.position < 0) throw new Error('bad position');
        const at = typeof doc.committedAt === 'string' ? Date.parse(doc.committedAt) : NaN;
        cursors.set(doc.name, { position: doc.position, committedAt: Number.isNaN(at) ? 0 : at });
      } catch (e) {
        bad.push({ file, reason: (e as Error).message });
      }
    }
    return { cursors, bad };
  }

  /** The text of one cursor file, refusing links, non-files, oversize files and (writer) files not the sensor's own. */
  private readCursorFile(file: string): string {
    let fd: number;
    try {
      fd = openOwn(file, READ_NOFOLLOW | constants.O_NONBLOCK);
    } catch (e) {
      if (e instanceof SensorError) throw e;
      throw new SensorError('ESENSOR_JOURNAL_IO', `cannot open cursor: ${(e as Error).message}`, { cause: e, file });
    }
    try {
      const st = fstatSync(fd);
      const unsafe = (why: string): SensorError =>
        new SensorError('ESENSOR_JOURNAL_UNSAFE', `${why}: refusing to read it as a cursor (docs/security.md)`, { file });
      if (!st.isFile()) throw unsafe('is not a regular file');
      if (this.own) {
        const euid = process.geteuid?.() ?? 0;
        if (st.uid !== euid) throw unsafe(`is owned by uid ${st.uid}, not by the sensor's user (uid ${euid})`);
        if (st.mode & 0o022) throw unsafe(`is writable by ${st.mode & 0o002 ? 'others' : 'its group'} (mode ${(st.mode & 0o777).toString(8)})`);
      }
      if (st.size > MAX_CURSOR_BYTES) throw unsafe(`is ${st.size} bytes, larger than a cursor (${MAX_CURSOR_BYTES})`);
      const buf = Buffer.alloc(MAX_CURSOR_BYTES + 1);
      let n = 0;
      for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, n)) > 0; ) n += r;
      if (n > MAX_CURSOR_BYTES) throw unsafe(`is larger than a cursor (${MAX_CURSOR_BYTES} bytes)`);
      return buf.subarray(0, n).toString('utf8');
    } catch (e) {
      if (e instanceof SensorError) throw e;
      throw new SensorError('ESENSOR_JOURNAL_IO', `cannot read cursor: ${(e as Error).message}`, { cause: e, file });
    } finally {
      closeSync(fd);
    }
  }

  /**
   * The committed position of every cursor. A cursor file that cannot be
   * read points at `oldest` (its sink gets duplicates, never a gap) and is
   * listed in `bad`.
   */
  positions(oldest: number): { positions: Map<string, number>; bad: CursorLoad['bad'] } {
    const { cursors, bad } = this.load();
    const positions = new Map<string, number>();
    for (const [name, c] of cursors) positions.set(name, c.position);
    for (const b of bad) {
      let name: string;
      try {
        name = decodeURIComponent(b.file.slice(this.dir.length + 1).replace(/\.cursor$/, ''));
      } catch {
        continue; // not a name we ever wrote
      }
      if (!positions.has(name)) positions.set(name, oldest);
    }
    return { positions, bad };
  }

  /** Store `position` for `name` atomically. Commits of one name run one after another. */
  commit(name: string, position: number, nowMs: number): Promise<void> {
    const file = cursorFileName(name);
    const prev = this.chains.get(name) ?? Promise.resolve();
    const run = prev.then(() => this.write(file, name, position, nowMs));
    const tail = run.catch(() => undefined);
    this.chains.set(name, tail);
    void tail.then(() => {
      if (this.chains.get(name) === tail) this.chains.delete(name);
    });
    return run;
  }

  private async write(file: string, name: string, position: number, nowMs: number): Promise<void> {
    const final = join(this.dir, file);
    const tmp = join(this.dir, `.${file}.tmp`);
    const text = `${JSON.stringify({ format: CURSOR_FORMAT, name, position, committedAt: new Date(nowMs).toISOString() })}\n`;
    try {
      const fh = await open(tmp, WRITE_NOFOLLOW, 0o600);
      try {
        await fh.writeFile(text, 'utf8');
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await rename(tmp, final);
      const dh = await open(this.dir, 'r');
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw new SensorError('ESENSOR_JOURNAL_IO', `cannot commit cursor ${final}: ${(e as Error).message}`, {
        cause: e,
        file: final,
        retriable: true,
      });
    }
  }
}
