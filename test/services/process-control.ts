/**
 * Starts a server as a detached process group whose output goes to a log
 * file, and stops it by PID. The PID is recorded with the process's start
 * time (from /proc), so a stop from another process, minutes later, never
 * signals a recycled PID. Stopping signals the whole group: Elasticsearch runs
 * as a CLI process and its server child.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { SensorError } from '../../src/errors.js';

/** Everything needed to (re)start a server process. Plain data: it is kept in the state file. */
export interface LaunchSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Run as this user (only when the harness runs as root). */
  uid?: number;
  gid?: number;
  /** stdout and stderr are appended here. */
  logFile: string;
}

/** A running process as recorded: its PID and its start time in clock ticks after boot. */
export interface ProcessHandle {
  pid: number;
  startTicks: number;
}

interface ProcStat {
  state: string;
  ppid: number;
  pgrp: number;
  startTicks: number;
}

function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: f[0]!, ppid: Number(f[1]), pgrp: Number(f[2]), startTicks: Number(f[19]) };
}

/** True while the recorded process runs (a zombie or a recycled PID counts as gone). */
export function isRunning(h: ProcessHandle): boolean {
  const s = procStat(h.pid);
  return s !== undefined && s.state !== 'Z' && s.startTicks === h.startTicks;
}

/** Live (non-zombie) members of process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const s = procStat(Number(e));
    if (s && s.pgrp === pgid && s.state !== 'Z') out.push(Number(e));
  }
  return out;
}

/** The live members of group `pgid` with their start times (recorded once a service answers). */
export function groupHandles(pgid: number): ProcessHandle[] {
  const out: ProcessHandle[] = [];
  for (const pid of groupMembers(pgid)) {
    const s = procStat(pid);
    if (s && s.state !== 'Z') out.push({ pid, startTicks: s.startTicks });
  }
  return out;
}

/**
 * True while the leader and every recorded member run. A launcher whose
 * server died (or a server whose launcher died) is not a running service:
 * it answers nothing, and a restart must first stop what is left of it.
 */
export function groupIntact(leader: ProcessHandle, members: readonly ProcessHandle[] = []): boolean {
  return isRunning(leader) && members.every(isRunning);
}

/**
 * Spawns `spec` in a new session (so it outlives this process and a Ctrl-C in
 * the terminal does not reach it) and returns its handle.
 */
export async function launch(spec: LaunchSpec): Promise<ProcessHandle> {
  const fd = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', fd, fd],
      ...(spec.uid !== undefined ? { uid: spec.uid } : {}),
      ...(spec.gid !== undefined ? { gid: spec.gid } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (e) =>
        reject(
          new SensorError(
            'ESENSOR_SERVICE',
            `cannot start ${spec.command}${spec.uid !== undefined ? ` as uid ${spec.uid}` : ''}: ${e.message}`,
            { cause: e },
          ),
        ),
      );
    });
    child.unref();
    const s = child.pid === undefined ? undefined : procStat(child.pid);
    if (!s) throw new SensorError('ESENSOR_SERVICE', `${spec.command} exited at once; see ${spec.logFile}`);
    return { pid: child.pid!, startTicks: s.startTicks };
  } finally {
    closeSync(fd);
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

/**
 * Stops the recorded process and its group: SIGTERM, then SIGKILL after
 * `graceMs`. Resolves once no member runs. A handle whose PID is gone or now
 * belongs to another process is left alone.
 */
export async function stopProcess(h: ProcessHandle, graceMs = 30_000): Promise<'not-running' | 'SIGTERM' | 'SIGKILL'> {
  const s = procStat(h.pid);
  // Another process got the PID: ours is long gone. (Linux does not recycle a
  // PID while it still names a live process group, so when the leader is gone
  // but members of group `pid` remain, they are ours: the ES server outliving
  // its CLI, say.)
  if (s && s.startTicks !== h.startTicks) return 'not-running';
  if (groupMembers(h.pid).length === 0) return 'not-running';
  signalGroup(h.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (groupMembers(h.pid).length === 0) return 'SIGTERM';
    await sleep(100);
  }
  signalGroup(h.pid, 'SIGKILL');
  const killDeadline = Date.now() + 10_000;
  while (groupMembers(h.pid).length > 0) {
    if (Date.now() > killDeadline) {
      throw new SensorError('ESENSOR_SERVICE', `process group ${h.pid} survived SIGKILL: members ${groupMembers(h.pid).join(', ')}`);
    }
    await sleep(100);
  }
  return 'SIGKILL';
}
