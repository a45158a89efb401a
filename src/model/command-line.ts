/**
 * model, command lines: `args.join(' ')` once per args array.
 *
 * Takes: an args array (decode builds them and never changes them after).
 * Gives: process.command_line, the same string for every event that carries
 * the same array.
 *
 * A process's events (and a fork's children) share their table entry's
 * array, and decode hands every exec of the same argv one array
 * (decode/exec-args.ts): the exec and every later event of the process then
 * name one command line string instead of a new one per event (issue-14),
 * which also lets the ECS serializer's per-process caches compare it by
 * reference. Decode (the exec's own line) and enrich (every other event's)
 * both ask here, so an exec and its exit share the string.
 */
const commandLines = new WeakMap<readonly string[], string>();

export function commandLine(args: readonly string[]): string {
  let s = commandLines.get(args);
  if (s === undefined) {
    s = args.join(' ');
    commandLines.set(args, s);
  }
  return s;
}
