/**
 * The user-space half of `action: kill`: SIGKILL to the offending process
 * as soon as its event is classified, with the delay from the event's
 * @timestamp to the signal measured and reported. The process the event
 * names is checked against its start time first, so a reused pid is never
 * killed. Rules the kernel can decide are also enforced there, before the
 * syscall returns (kernel-needs.ts); this is the fallback for all others.
 */
import { readFileSync } from 'node:fs';
import type { KillReport, SensorEvent } from '../model/event.js';
import { isoToEpochMs } from '../model/time.js';

/** Does something about a kill match; returns what it did. */
export interface Killer {
  kill(ev: SensorEvent): KillReport;
}

export interface KillStats {
  killed: number;
  gone: number;
  refused: number;
  failed: number;
  /** Delays of signals sent (ms): last, max, sum (for the mean). */
  lastDelayMs: number;
  maxDelayMs: number;
  sumDelayMs: number;
}

/** Wall-clock now in ms with sub-ms precision. */
function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface ProcessKillerOptions {
  procRoot?: string;
  /** Pids never killed besides 0, 1, the sensor and its parent. */
  protect?: readonly number[];
  /** Sends the signal (default: process.kill(pid, 'SIGKILL')); tests pass a recorder. */
  signal?: (pid: number) => void;
  /** Told of every kill attempt (the live sensor logs it: kills are rare and each one matters). */
  onKill?: (report: KillReport, ev: SensorEvent) => void;
}

/** Sends SIGKILL from user space. */
export class ProcessKiller implements Killer {
  readonly stats: KillStats = { killed: 0, gone: 0, refused: 0, failed: 0, lastDelayMs: 0, maxDelayMs: 0, sumDelayMs: 0 };
  private readonly protect: Set<number>;
  private readonly procRoot: string;
  private readonly send: (pid: number) => void;
  private readonly onKill: ((report: KillReport, ev: SensorEvent) => void) | undefined;

  constructor(opts: ProcessKillerOptions = {}) {
    this.onKill = opts.onKill;
    this.protect = new Set([0, 1, process.pid, process.ppid, ...(opts.protect ?? [])]);
    this.procRoot = opts.procRoot ?? '/proc';
    this.send = opts.signal ?? ((pid) => process.kill(pid, 'SIGKILL'));
  }

  kill(ev: SensorEvent): KillReport {
    const report = this.attempt(ev);
    this.onKill?.(report, ev);
    return report;
  }

  private attempt(ev: SensorEvent): KillReport {
    const pid = ev.process.pid;
    const report: KillReport = { pid, signal: 'SIGKILL', result: 'refused', by: 'user' };
    if (this.protect.has(pid) || pid <= 0) {
      this.stats.refused++;
      report.error = 'protected pid';
      return report;
    }
    const start = ev.ebpf.process?.start_boot_ns;
    if (start !== undefined && !this.sameProcess(pid, start)) {
      this.stats.gone++;
      report.result = 'gone';
      return report;
    }
    try {
      this.send(pid);
      const delay = Math.max(0, nowMs() - isoToEpochMs(ev['@timestamp']));
      report.result = 'killed';
      report.delay_ms = Math.round(delay * 1000) / 1000;
      this.stats.killed++;
      this.stats.lastDelayMs = report.delay_ms;
      this.stats.maxDelayMs = Math.max(this.stats.maxDelayMs, report.delay_ms);
      this.stats.sumDelayMs += report.delay_ms;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ESRCH') {
        report.result = 'gone';
        this.stats.gone++;
      } else {
        report.result = 'failed';
        report.error = code ?? (e as Error).message;
        this.stats.failed++;
      }
    }
    return report;
  }

  /** Is pid still the process that started at start_boot_ns (clock ticks precision, as /proc gives it)? */
  private sameProcess(pid: number, startBootNs: string): boolean {
    let stat: string;
    try {
      stat = readFileSync(`${this.procRoot}/${pid}/stat`, 'latin1');
    } catch {
      return false;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return ticks === Number(BigInt(startBootNs) / 10_000_000n);
  }
}
