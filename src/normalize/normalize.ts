/**
 * normalize: classified events → what SIEMs read.
 *
 * Takes: a ClassifiedEvent (canonical event + verdict) and the host/agent
 * metadata collected at start-up. Gives: an ECS 9.4 document (`toEcs`, the
 * default of every output; `ecsJson` for one line of it) or one CEF line
 * (`toCef`). Both are pure functions: same input, byte-identical output, so
 * replays reproduce what was sent. docs/outputs.md describes both formats,
 * the severity scales and how non-UTF-8 kernel bytes are written.
 */
export { ecsLine } from './ecs/ecs-serializer.js';
export { toEcs, ecsJson, categorize, ECS_VERSION, ECS_MODULE, type EcsDocument, type Categorization } from './ecs/ecs.js';
export { toCef, cefHeader, cefValue, CEF_DEFAULTS, CEF_LABELS, CEF_EVENT_NAMES, type CefOptions } from './cef/cef.js';
export { ECS_SEVERITY, CEF_SEVERITY, CEF_SEVERITY_EVENT, CEF_SEVERITY_LOSS, topMatch } from './severity.js';
export { attackThreat, ATTACK_TACTICS, ATTACK_TECHNIQUES, type EcsThreat } from './mitre-attack.js';
export { displayText, exactBytes, fromExactBytes, hasLoneSurrogate } from './raw-bytes.js';
