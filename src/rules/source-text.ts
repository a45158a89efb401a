/**
 * A string from a rule file (a condition, an output) that maps its own
 * offsets back to file:line:column. Takes the file's text, the span of the
 * scalar in it and a line counter; gives a SourceText. The offset map is
 * built on the first pos() call (a condition's parse asks; a text nothing
 * asks about, such as most outputs, never pays). The span is kept aside (spanOf) so
 * a parsed file can be snapshotted (rule-snapshot.ts) and rebuilt exactly.
 */
import type { SourceText, Where } from './source.js';

/** Where the scalar's value starts in the file (after a quote or a block header) and where its node ends. */
export type Span = readonly [start: number, end: number];

const spans = new WeakMap<SourceText, Span>();

/** The span a SourceText was made from (undefined for one made elsewhere). */
export function spanOf(t: SourceText): Span | undefined {
  return spans.get(t);
}

/**
 * Plain and quoted scalars fold line breaks and block scalars drop
 * indentation, so `text` is aligned with `src[start..end)` character by
 * character: each character of `text` maps to the next equal one of the source.
 */
export function makeSourceText(
  file: string,
  src: string,
  linePos: (offset: number) => { line: number; col: number },
  text: string,
  start: number,
  end: number,
): SourceText {
  let map: Int32Array | undefined;
  const build = (): Int32Array => {
    const m = new Int32Array(text.length + 1);
    let p = start;
    for (let k = 0; k < text.length; k++) {
      let q = p;
      while (q < end && src[q] !== text[k]) q++;
      if (q < end) {
        m[k] = q;
        p = q + 1;
      } else {
        m[k] = Math.min(p, end);
      }
    }
    m[text.length] = Math.min(p, end);
    return m;
  };
  const st: SourceText = {
    text,
    pos(offset: number): Where {
      map ??= build();
      const at = map[Math.max(0, Math.min(offset, text.length))]!;
      const lp = linePos(at);
      return { file, line: lp.line, column: lp.col };
    },
  };
  spans.set(st, [start, end]);
  return st;
}
