/**
 * decode, the wall clock: boot-clock ns in records → ISO-8601 times.
 *
 * Takes: u64 boot-clock ns (as two u32 halves) and the offset between the
 * boot and the real-time clock (DecodeContext.bootToRealtimeNs). Gives:
 * ISO-8601 strings with nine fractional digits, without BigInt arithmetic
 * on the hot path.
 */

/** What a clock is built from (a DecodeContext). */
export interface ClockSource {
  bootToRealtimeNs: bigint;
}

/** ns since the epoch → ISO-8601 with 9 fractional digits. */
export function isoFromNs(ns: bigint): string {
  const sec = Number(ns / 1000000000n);
  const nsec = Number(ns % 1000000000n);
  return isoFromSecNs(sec, nsec);
}

let isoSec = -1;
let isoPrefix = '';

/** Zeros that pad a fraction of n digits to nine. */
const PAD = ['000000000', '00000000', '0000000', '000000', '00000', '0000', '000', '00', '0', ''];

/**
 * Seconds + nanoseconds since the epoch → ISO-8601 with 9 fractional digits
 * (the seconds prefix is cached). The fraction is padded from a table: nsec
 * is a small integer, while `nsec + 1e9` is not, and its decimal text costs
 * several times as much (issue-14).
 */
export function isoFromSecNs(sec: number, nsec: number): string {
  if (sec !== isoSec) {
    isoSec = sec;
    isoPrefix = `${new Date(sec * 1000).toISOString().slice(0, 19)}.`;
  }
  const f = String(nsec);
  return `${isoPrefix}${PAD[f.length]}${f}Z`;
}

/**
 * Turns boot-clock ns (u64 in a record) into wall-clock ISO strings without
 * BigInt arithmetic on the hot path: boot ns fit a double exactly for 104
 * days of uptime; beyond that the exact BigInt path is taken.
 */
export class WallClock {
  private readonly offSec: number;
  private readonly offNsec: number;
  private readonly starts = new Map<number, string>();

  constructor(readonly bootToRealtimeNs: bigint) {
    this.offSec = Number(bootToRealtimeNs / 1000000000n);
    this.offNsec = Number(bootToRealtimeNs % 1000000000n);
  }

  iso(hi: number, lo: number): string {
    if (hi >= 0x200000) return isoFromNs((BigInt(hi) << 32n) + BigInt(lo) + this.bootToRealtimeNs);
    const boot = hi * 4294967296 + lo;
    const bootSec = Math.floor(boot / 1e9);
    let nsec = boot - bootSec * 1e9 + this.offNsec;
    let sec = bootSec + this.offSec;
    if (nsec >= 1e9) {
      nsec -= 1e9;
      sec += 1;
    }
    return isoFromSecNs(sec, nsec);
  }

  /** Process start times repeat across a process's events: cached. */
  startIso(hi: number, lo: number): string {
    const key = hi * 4294967296 + lo;
    let s = this.starts.get(key);
    if (s === undefined) {
      if (this.starts.size >= 8192) this.starts.clear();
      s = this.iso(hi, lo);
      this.starts.set(key, s);
    }
    return s;
  }
}

const clocks = new WeakMap<ClockSource, WallClock>();

export function wallClock(ctx: ClockSource): WallClock {
  let c = clocks.get(ctx);
  if (!c || c.bootToRealtimeNs !== ctx.bootToRealtimeNs) {
    c = new WallClock(ctx.bootToRealtimeNs);
    clocks.set(ctx, c);
  }
  return c;
}

