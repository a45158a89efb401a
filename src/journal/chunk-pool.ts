/**
 * Read buffers for a journal reader whose records are views of what it read
 * (records to ship): bytes a view may point into are never read over until
 * the reader's caller says it is done with every record it was given.
 *
 * Takes: requests for a buffer to read into, marks of how far the current
 * chunk was lent, and release() once the records returned so far are no
 * longer used. Gives: buffers to read into — the rest of the current chunk
 * while it has room, else a released chunk, else a new one — so a delivery
 * loop reads into the same few chunks instead of a new one per read (which
 * V8 frees only after tens of megabytes of external memory have piled up).
 */

/** Released chunks kept for reuse; more are left to the garbage collector. */
const KEEP_FREE = 4;

export class ChunkPool {
  private cur: Buffer | undefined;
  /** Bytes of `cur` that views may point into (from its start). */
  private lentEnd = 0;
  /** Earlier chunks that views may point into. */
  private readonly retired: Buffer[] = [];
  private readonly free: Buffer[] = [];
  /** Chunks allocated since construction (tests, stats). */
  allocated = 0;

  constructor(private readonly chunk: number) {}

  /**
   * A buffer of at least `min` bytes holding no lent bytes: the rest of the
   * current chunk when it fits, else another chunk.
   */
  acquire(min: number): Buffer {
    const cur = this.cur;
    if (cur && cur.length - this.lentEnd >= min) return this.lentEnd ? cur.subarray(this.lentEnd) : cur;
    if (cur) {
      if (this.lentEnd > 0) this.retired.push(cur);
      else this.recycle(cur);
    }
    let next: Buffer | undefined;
    const i = this.free.findIndex((b) => b.length >= min);
    if (i >= 0) next = this.free.splice(i, 1)[0];
    if (!next) {
      next = Buffer.allocUnsafeSlow(Math.max(min, this.chunk)); // its own memory: views are told apart by it
      this.allocated++;
    }
    this.cur = next;
    this.lentEnd = 0;
    return next;
  }

  /**
   * Views of `view` (a buffer acquire() returned) were handed out over its
   * first `bytes` bytes: they are not given out again before release().
   */
  lend(view: Buffer, bytes: number): void {
    const cur = this.cur;
    if (!cur || view.buffer !== cur.buffer) return; // not the current chunk: it was retired when it stopped being current
    const end = view.byteOffset - cur.byteOffset + bytes;
    if (end > this.lentEnd) this.lentEnd = end;
  }

  /** Every view handed out so far is no longer used: their chunks may be read into again. */
  release(): void {
    this.lentEnd = 0;
    for (const b of this.retired.splice(0)) this.recycle(b);
  }

  private recycle(b: Buffer): void {
    if (this.free.length < KEEP_FREE) this.free.push(b);
  }
}
