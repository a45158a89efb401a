/**
 * Times as the sensor writes them: ISO-8601 UTC with up to nine fractional
 * digits. Takes such a timestamp; gives it as ms since the epoch (sub-ms kept).
 */

/** The whole-second part last parsed (iso[0, dot)) and its ms since the epoch. */
let lastWhole = '';
let lastWholeMs = NaN;

/** Powers of ten a fraction of up to 15 digits is divided by (all exact doubles). */
const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);

/**
 * ms since the epoch of an ISO-8601 timestamp with up to 9 fractional digits (sub-ms kept as a fraction).
 *
 * Called per exit event (the process table's grace clock) and per replayed
 * exit: the whole seconds are parsed once per second met, and a fraction of
 * digits is read without a substring — the slices, the `…Z` and `0.…` strings
 * and Date.parse were ≈ 250 bytes and a microsecond per exit (issue-14
 * point 6). The result is the same double: an integer of at most 15 digits
 * divided by a power of ten is the correctly rounded value of the same
 * decimal that Number('0.' + digits) rounds correctly too.
 */
export function isoToEpochMs(iso: string): number {
  const dot = iso.indexOf('.');
  if (dot < 0) return Date.parse(iso);
  let end = iso.indexOf('Z', dot);
  if (end < 0) end = iso.length;
  let whole: number;
  if (dot === lastWhole.length && iso.startsWith(lastWhole)) {
    whole = lastWholeMs;
  } else {
    lastWhole = iso.slice(0, dot);
    whole = lastWholeMs = Date.parse(`${lastWhole}Z`);
  }
  const digits = end - dot - 1;
  if (digits > 15) return slowFraction(iso, dot, end, whole);
  let f = 0;
  for (let i = dot + 1; i < end; i++) {
    const c = iso.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return slowFraction(iso, dot, end, whole);
    f = f * 10 + c;
  }
  return whole + (f / POW10[digits]!) * 1000;
}

/** The fraction as Number('0.' + text) reads it (non-digits, or more digits than a double holds exactly). */
function slowFraction(iso: string, dot: number, end: number, whole: number): number {
  return whole + Number(`0.${iso.slice(dot + 1, end)}`) * 1000;
}
