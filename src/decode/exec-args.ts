/**
 * decode/exec-args: an exec record's argv slot → process.args and
 * process.command_line, one array and one string per distinct argv.
 *
 * Takes: the record bytes and the argv slot's range (NUL-separated
 * arguments, as bpf/programs/process.bpf.c copies them). Gives: the
 * arguments, each decoded losslessly (model/raw-text.ts), in an array frozen
 * and shared by every exec of the same argv bytes, and its command line.
 *
 * An exec-heavy host runs the same few command lines again and again (a
 * script's commands, a cron job, posix_spawn storms). Built per exec, the
 * array, its strings and the joined command line were new every time, and
 * so was every cache keyed by them downstream: the exit's command line
 * joined again (enrich), the ECS image and `process.previous` texts
 * compared element by element (issue-14). One array per argv makes each of
 * those a pointer compare. Frozen: the array stands in many events; nothing
 * edits args after decode, and whatever tried would throw rather than change
 * other events' arguments.
 */
import { decodeRaw } from '../model/raw-text.js';
import { commandLine } from '../model/command-line.js';
import { trimNul } from './record.js';

export interface ExecArgs {
  args: string[];
  commandLine: string;
}

/** Distinct argvs kept (the table is emptied when full) and the longest kept: bounds its memory to ≈ 400 kB. */
const MAX_ENTRIES = 256;
const MAX_BYTES = 1024;

/** By the argv bytes as latin1 (one character per byte: equal keys, equal bytes). */
const seen = new Map<string, ExecArgs>();

function decodeArgs(rec: Buffer, start: number, end: number): string[] {
  const args: string[] = [];
  let s = start;
  while (s < end) {
    const e = trimNul(rec, s, end);
    args.push(decodeRaw(rec, s, e));
    s = e + 1;
  }
  return args;
}

/** The arguments in rec[start, end) and their command line (shared: never edit the array). */
export function execArgs(rec: Buffer, start: number, end: number): ExecArgs {
  if (end - start > MAX_BYTES) {
    const args = Object.freeze(decodeArgs(rec, start, end)) as string[];
    return { args, commandLine: commandLine(args) };
  }
  const key = rec.toString('latin1', start, end);
  let x = seen.get(key);
  if (x === undefined) {
    const args = Object.freeze(decodeArgs(rec, start, end)) as string[];
    x = { args, commandLine: commandLine(args) };
    if (seen.size >= MAX_ENTRIES) seen.clear();
    seen.set(key, x);
  }
  return x;
}

/** No argv slot (or an empty one): the one empty array. */
export const NO_ARGS: ExecArgs = { args: Object.freeze([]) as unknown as string[], commandLine: '' };
