/**
 * A rule's `output` message template: `%{field}` names a field of the
 * registry, checked when the rule is compiled; gives the function that
 * renders the message of a matching event (`<NA>` for an absent field).
 */
import type { SensorError } from '../../errors.js';
import type { SensorEvent } from '../../model/event.js';
import { fieldSpec, type FieldSpec } from '../fields.js';
import type { SourceText } from '../source.js';
import { suggest } from './check.js';
import { semantic } from './errors.js';

/** `%{field}` templates: fields are checked at load time. */
export function compileOutput(src: SourceText | undefined, errors: SensorError[]): (ev: SensorEvent) => string {
  if (!src) return () => '';
  const parts: Array<string | FieldSpec> = [];
  const re = /%\{([^}]*)\}/g;
  let last = 0;
  let ok = true;
  for (let m = re.exec(src.text); m; m = re.exec(src.text)) {
    parts.push(src.text.slice(last, m.index));
    const name = m[1]!.trim();
    const spec = fieldSpec(name);
    if (!spec) {
      errors.push(semantic(`output: unknown field "${name}"${suggest(name)}`, src.pos(m.index + 2), 'output'));
      ok = false;
    } else parts.push(spec);
    last = m.index + m[0].length;
  }
  parts.push(src.text.slice(last));
  if (!ok) return () => src.text;
  return (ev) => {
    let s = '';
    for (const p of parts) {
      if (typeof p === 'string') s += p;
      else {
        const v = p.get(ev);
        s += v === undefined ? '<NA>' : Array.isArray(v) ? v.join(' ') : String(v);
      }
    }
    return s;
  };
}
