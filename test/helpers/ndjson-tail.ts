/**
 * Follows an NDJSON file that another process is still writing (the live
 * sensor's output, rsyslog's output file) and gives the documents of its
 * complete lines. Takes a path; gives parsed documents, in file order.
 *
 * Why not readFileSync + split: the writer may be in the middle of a line (a
 * partial tail is kept until its newline arrives), and the writer may rotate
 * the file (FILE → FILE.1, a new FILE): an offset into the old file is not
 * an offset into the new one, so the old file is drained through the
 * descriptor opened on it before the new file is read from its start.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';

export class NdjsonTail<T = unknown> {
  private fd: number | undefined;
  private ino = -1;
  private pos = 0;
  private tail: Buffer = Buffer.alloc(0);
  private readonly chunk = Buffer.alloc(1 << 20);
  /** Every document read so far. */
  readonly docs: T[] = [];
  /** Lines that were complete but not JSON (a writer bug: the test sees them). */
  readonly bad: string[] = [];

  constructor(
    readonly path: string,
    private readonly parse: (line: string) => T = (l) => JSON.parse(l) as T,
  ) {}

  /**
   * Read what was appended since the last call; returns the new documents.
   * Throws when a complete line is not a document (a writer bug, not a race).
   */
  read(): T[] {
    const bad = this.bad.length;
    const fresh = this.readLines();
    if (this.bad.length > bad) throw new Error(`${this.path}: ${this.bad.length - bad} complete line(s) are not JSON, first: ${this.bad[bad]!.slice(0, 200)}`);
    return fresh;
  }

  private readLines(): T[] {
    const fresh: T[] = [];
    for (;;) {
      if (this.fd === undefined && !this.open()) return fresh;
      this.drain(fresh);
      // Rotated or replaced: the path names another file now. The old one
      // has been read to its end above; continue with the new one.
      let ino: number;
      try {
        ino = statSync(this.path).ino;
      } catch {
        return fresh;
      }
      if (ino === this.ino) return fresh;
      this.drain(fresh);
      this.close();
      // A line cut by a rotation would be a writer bug; keep it visible.
      if (this.tail.length) this.bad.push(this.tail.toString('utf8'));
      this.tail = Buffer.alloc(0);
    }
  }

  /** Close the descriptor (the documents stay; a later read() goes on from where this one stopped). */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private open(): boolean {
    try {
      this.fd = openSync(this.path, 'r');
    } catch {
      return false;
    }
    const ino = fstatSync(this.fd).ino;
    // The same file again (a read after close()): go on where we were, never
    // read a line twice. Another file: from its start.
    if (ino !== this.ino) {
      this.ino = ino;
      this.pos = 0;
      this.tail = Buffer.alloc(0);
    }
    return true;
  }

  private drain(out: T[]): void {
    for (;;) {
      const n = readSync(this.fd!, this.chunk, 0, this.chunk.length, this.pos);
      if (n <= 0) return;
      this.pos += n;
      let buf = this.tail.length ? Buffer.concat([this.tail, this.chunk.subarray(0, n)]) : this.chunk.subarray(0, n);
      let start = 0;
      for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
        const line = buf.subarray(start, nl).toString('utf8');
        start = nl + 1;
        if (!line.trim()) continue;
        try {
          const d = this.parse(line);
          out.push(d);
          this.docs.push(d);
        } catch {
          this.bad.push(line);
        }
      }
      buf = buf.subarray(start);
      this.tail = Buffer.from(buf); // a copy: this.chunk is reused
    }
  }
}
