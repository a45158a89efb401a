/**
 * The rules stage's contract: every event gets a verdict. The rule engine
 * implements it; NullClassifier (no rules loaded) calls everything normal.
 */
import type { SensorEvent, Verdict } from '../model/event.js';

export interface Classifier {
  classify(ev: SensorEvent): Verdict;
}

export const NORMAL: Verdict = Object.freeze({ classification: 'normal', matches: Object.freeze([]) as unknown as [] }) as Verdict;

export class NullClassifier implements Classifier {
  classify(): Verdict {
    return NORMAL;
  }
}
