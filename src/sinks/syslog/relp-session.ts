/**
 * RELP (the Reliable Event Logging Protocol of rsyslog's imrelp and
 * librelp): acknowledged syslog over one TCP connection.
 *
 * Takes: a connected socket and syslog messages (RFC 5424 or 3164, unframed).
 * Gives: a session that sends each message as a RELP `syslog` command and
 * resolves a batch only when the server answered `200 OK` for every message
 * of it. That answer is what plain syslog over TCP cannot give: bytes the
 * kernel took but the server never processed (it died, the connection broke)
 * now fail the batch, which the delivery loop sends again — at least once,
 * with duplicates of whatever the server had taken before it died, never a
 * gap.
 *
 * Frame (librelp's doc/relp.html): `TXNR SP COMMAND SP DATALEN [SP DATA] LF`,
 * TXNR 1..999999999 (wrapping to 1), DATALEN the byte length of DATA. The
 * answer to a command is `TXNR rsp DATALEN SP CODE [SP TEXT] [LF DATA] LF`.
 * The session opens with `open` (offers: relp_version=0, commands=syslog);
 * the server may send `0 serverclose 0` at any time.
 */
import type { Socket } from 'node:net';

const MAX_TXNR = 999_999_999;
const LF = 0x0a;
const SP = 0x20;
/** Largest frame we accept from the server (answers are a few bytes; a bigger one is a broken peer). */
const MAX_ANSWER_BYTES = 64 * 1024;

export class RelpError extends Error {}

interface Waiter {
  resolve: (text: string) => void;
  reject: (e: Error) => void;
}

export interface RelpFrame {
  txnr: number;
  command: string;
  data: Buffer;
}

/**
 * Incremental parser of RELP frames. `push` returns the complete frames
 * in the bytes so far and keeps the rest; malformed input throws RelpError.
 */
export class RelpParser {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): RelpFrame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: RelpFrame[] = [];
    for (;;) {
      const f = this.next();
      if (!f) break;
      out.push(f);
    }
    if (this.buf.length > MAX_ANSWER_BYTES) throw new RelpError(`a RELP frame larger than ${MAX_ANSWER_BYTES} bytes`);
    return out;
  }

  private next(): RelpFrame | undefined {
    const b = this.buf;
    const sp1 = b.indexOf(SP);
    if (sp1 < 0) return this.incomplete(b.length, 10);
    const txnrText = b.subarray(0, sp1).toString('latin1');
    if (!/^[0-9]{1,9}$/.test(txnrText)) throw new RelpError(`bad RELP transaction number "${txnrText.slice(0, 16)}"`);
    const sp2 = b.indexOf(SP, sp1 + 1);
    if (sp2 < 0) return this.incomplete(b.length - sp1, 33);
    const command = b.subarray(sp1 + 1, sp2).toString('latin1');
    if (!/^[a-z]{1,32}$/.test(command)) throw new RelpError(`bad RELP command "${command.slice(0, 32)}"`);
    // DATALEN ends with SP (data follows) or LF (DATALEN 0, no data).
    let end = sp2 + 1;
    while (end < b.length && b[end]! >= 0x30 && b[end]! <= 0x39) end++;
    if (end === b.length) return this.incomplete(end - sp2, 10);
    const lenText = b.subarray(sp2 + 1, end).toString('latin1');
    if (lenText.length === 0 || lenText.length > 9) throw new RelpError(`bad RELP data length "${lenText}"`);
    const len = Number(lenText);
    let dataStart: number;
    if (b[end] === SP) dataStart = end + 1;
    else if (b[end] === LF && len === 0) dataStart = end;
    else throw new RelpError('bad RELP frame: no separator after the data length');
    if (len > MAX_ANSWER_BYTES) throw new RelpError(`a RELP frame of ${len} bytes`);
    if (b.length < dataStart + len + 1) return undefined;
    if (b[dataStart + len] !== LF) throw new RelpError('bad RELP frame: no LF after the data');
    const data = b.subarray(dataStart, dataStart + len);
    this.buf = b.subarray(dataStart + len + 1);
    return { txnr: Number(txnrText), command, data };
  }

  /** Wait for more bytes, unless the part read so far is already too long to be valid. */
  private incomplete(have: number, max: number): undefined {
    if (have > max) throw new RelpError('bad RELP frame header');
    return undefined;
  }
}

/** One frame, ready to write. */
export function relpFrame(txnr: number, command: string, data: Buffer): Buffer {
  const head = Buffer.from(data.length ? `${txnr} ${command} ${data.length} ` : `${txnr} ${command} 0`, 'latin1');
  return Buffer.concat([head, data, Buffer.from('\n')]);
}

/** An open RELP session on a connected socket. */
export class RelpSession {
  private txnr = 0;
  private readonly parser = new RelpParser();
  private readonly waiting = new Map<number, Waiter>();
  private failed: Error | undefined;

  private constructor(private readonly sock: Socket) {
    sock.on('data', (chunk: Buffer) => {
      let frames: RelpFrame[];
      try {
        frames = this.parser.push(chunk);
      } catch (e) {
        this.fail(e as Error);
        return;
      }
      for (const f of frames) this.onFrame(f);
    });
    sock.on('close', () => this.fail(new RelpError('the RELP server closed the connection')));
    sock.on('error', (e) => this.fail(e));
  }

  /** Open the session (`open` command, `200 OK` with relp_version and syslog in the answer). */
  static async open(sock: Socket, timeoutMs: number, software: string): Promise<RelpSession> {
    const s = new RelpSession(sock);
    const offers = Buffer.from(`relp_version=0\nrelp_software=${software}\ncommands=syslog`, 'latin1');
    const answer = await s.command('open', offers, timeoutMs);
    if (!/(^|\n)commands=([^\n]*,)?syslog(,|\n|$)/.test(answer)) {
      throw new RelpError(`the RELP server does not offer the syslog command (answered "${answer.slice(0, 200)}")`);
    }
    return s;
  }

  /** True while the connection is usable. */
  get alive(): boolean {
    return this.failed === undefined && !this.sock.destroyed && this.sock.writable;
  }

  /**
   * Send every message as a `syslog` command (pipelined: all written, then
   * all answers awaited). Resolves when each was answered `200`; rejects on
   * another answer, a broken connection or `timeoutMs` without all answers.
   */
  async sendAll(messages: readonly Buffer[], timeoutMs: number): Promise<void> {
    const answers: Promise<string>[] = [];
    const frames: Buffer[] = [];
    for (const m of messages) {
      const { txnr, answer } = this.expect();
      answers.push(answer);
      frames.push(relpFrame(txnr, 'syslog', m));
    }
    // A rejected answer must not go unhandled while we wait for the others.
    for (const a of answers) a.catch(() => undefined);
    this.sock.write(Buffer.concat(frames));
    await this.within(Promise.all(answers), timeoutMs, `${messages.length} RELP acknowledgements`);
  }

  /** Ask the server to close (`close`), then end the socket. */
  async close(timeoutMs: number): Promise<void> {
    if (this.alive) {
      try {
        await this.command('close', Buffer.alloc(0), timeoutMs);
      } catch {
        // Closing anyway.
      }
    }
    this.sock.end();
  }

  private async command(name: string, data: Buffer, timeoutMs: number): Promise<string> {
    const { txnr, answer } = this.expect();
    this.sock.write(relpFrame(txnr, name, data));
    return this.within(answer, timeoutMs, `the answer to RELP ${name}`);
  }

  private expect(): { txnr: number; answer: Promise<string> } {
    if (this.failed) throw this.failed;
    this.txnr = this.txnr >= MAX_TXNR ? 1 : this.txnr + 1;
    const txnr = this.txnr;
    const answer = new Promise<string>((resolve, reject) => this.waiting.set(txnr, { resolve, reject }));
    return { txnr, answer };
  }

  private async within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RelpError(`no ${what} within ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([p, timeout]);
    } catch (e) {
      this.fail(e as Error);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  private onFrame(f: RelpFrame): void {
    if (f.command === 'serverclose') {
      this.fail(new RelpError('the RELP server closed the session (serverclose)'));
      return;
    }
    if (f.command !== 'rsp') {
      this.fail(new RelpError(`unexpected RELP command "${f.command}" from the server`));
      return;
    }
    const w = this.waiting.get(f.txnr);
    if (!w) {
      this.fail(new RelpError(`a RELP answer to transaction ${f.txnr}, which was not asked`));
      return;
    }
    this.waiting.delete(f.txnr);
    const text = f.data.toString('utf8');
    const code = /^([0-9]{3})(?: |\n|$)/.exec(text)?.[1];
    if (code === '200') w.resolve(text.slice(4));
    else w.reject(new RelpError(`the RELP server answered "${text.slice(0, 200)}" to transaction ${f.txnr}`));
  }

  /** The session is dead: every open transaction fails, the socket is destroyed. */
  private fail(e: Error): void {
    this.failed ??= e;
    for (const w of this.waiting.values()) w.reject(this.failed);
    this.waiting.clear();
    if (!this.sock.destroyed) this.sock.destroy();
  }
}
