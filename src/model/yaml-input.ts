/**
 * YAML from files the sensor reads (rules, config, rule fixtures): a parsed
 * document → plain JavaScript, or a coded SensorError at the file, line and
 * column of the problem. Takes a document parsed with a LineCounter; gives
 * its value.
 *
 * Why a helper: the yaml library refuses alias bombs ("billion laughs") and
 * stack-deep documents by throwing plain errors (ReferenceError,
 * RangeError) with no place in the file; the sensor's inputs must fail with
 * a code and a location instead (docs/security.md).
 */
import { visit, type Document, type LineCounter } from 'yaml';
import { SensorError, type ErrorCode } from '../errors.js';

/**
 * At most this many alias dereferences per document (yaml's own limit is
 * relative to the document size; this one is absolute, so a small file
 * cannot expand to gigabytes).
 */
export const MAX_YAML_ALIASES = 100;

/** The value of `doc`, or a SensorError `code` naming file:line:column of the first alias (or the document). */
export function yamlToJs(doc: Document, lc: LineCounter, file: string, code: ErrorCode): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (e) {
    let at = 0;
    visit(doc, {
      Alias(_key, node) {
        at = node.range?.[0] ?? 0;
        return visit.BREAK;
      },
    });
    const pos = lc.linePos(at);
    const why = e instanceof ReferenceError || isAliasError(e) ? `aliases expand too far (more than ${MAX_YAML_ALIASES} dereferences, or an alias bomb)` : `the document cannot be read (${(e as Error).message})`;
    throw new SensorError(code, `invalid YAML: ${why}`, { file, line: pos.line, column: pos.col, cause: e });
  }
}

function isAliasError(e: unknown): boolean {
  return e instanceof Error && /alias/i.test(e.message);
}
