/**
 * Times as the sensor writes them: ISO-8601 UTC with up to nine fractional
 * digits. Takes such a timestamp; gives it as ms since the epoch (sub-ms kept).
 */

/** ms since the epoch of an ISO-8601 timestamp with up to 9 fractional digits (sub-ms kept as a fraction). */
export function isoToEpochMs(iso: string): number {
  const dot = iso.indexOf('.');
  if (dot < 0) return Date.parse(iso);
  const end = iso.indexOf('Z', dot);
  const frac = iso.slice(dot + 1, end < 0 ? undefined : end);
  const whole = Date.parse(`${iso.slice(0, dot)}Z`);
  return whole + Number(`0.${frac}`) * 1000;
}
