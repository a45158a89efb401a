// RE2 matchers are compiled once per operand (src/rules/patterns.ts): the same pattern brought by
// a macro to many rules shares one matcher, which judges exactly as a fresh one; a bad pattern is
// refused every time it is met, not remembered as good.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGlob, compileRegex, PatternError } from '../../src/rules/patterns.js';

test('one matcher per regex and per glob operand, refusals not cached', () => {
  const r = compileRegex('^/usr/(s?bin)/[a-z]+$');
  assert.equal(compileRegex('^/usr/(s?bin)/[a-z]+$'), r);
  assert.notEqual(compileRegex('^/usr/(s?bin)/[a-z]+'), r);
  assert.equal(r('/usr/sbin/sshd'), true);
  assert.equal(r('/usr/local/bin/x'), false);
  const g = compileGlob('/tmp/**/*.sh');
  assert.equal(compileGlob('/tmp/**/*.sh'), g);
  assert.equal(g('/tmp/a/b/run.sh'), true);
  assert.equal(g('/var/tmp/run.sh'), false);
  // The same text as a regex and as a glob are different operands.
  assert.notEqual(compileRegex('/tmp/*'), compileGlob('/tmp/*'));
  for (let i = 0; i < 2; i++) assert.throws(() => compileRegex('(a)\\1'), PatternError);
  for (let i = 0; i < 2; i++) assert.throws(() => compileGlob('/tmp/[abc'), PatternError);
});
