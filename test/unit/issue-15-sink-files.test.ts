// issue 15, point 6: the files a sink's config names (PEM files for TLS,
// secrets) are read by one helper, src/sinks/config-files.ts, for every sink
// (Kafka, Elasticsearch, syslog, Splunk HEC, OTLP): same contents, same
// ESENSOR_SINK_CONFIG error naming the file and the config field.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSensorError } from '../../src/errors.js';
import { readConfigFile, readSecretFile, readTlsFiles } from '../../src/sinks/config-files.js';
import { HecClient } from '../../src/sinks/hec/hec-client.js';
import { syslogSinkFromConfig } from '../../src/sinks/syslog/syslog-sink.js';

const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-issue15-files-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'ca.pem'), 'CA PEM');
writeFileSync(join(dir, 'cert.pem'), 'CERT PEM');
writeFileSync(join(dir, 'key.pem'), 'KEY PEM');
writeFileSync(join(dir, 'secret'), 's3cret\n');

function refusesMissing(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isSensorError(e), String(e));
    assert.equal(e.code, 'ESENSOR_SINK_CONFIG');
    assert.equal((e as { field?: string }).field, field);
    assert.equal((e as { file?: string }).file, join(dir, 'missing.pem'));
    assert.match(e.message, new RegExp(`cannot read ${field.replace(/\./g, '\\.')} `));
    return true;
  });
}

test('readTlsFiles: the PEM files read, only what is set passed on; a missing file names its field', () => {
  const t = readTlsFiles({ ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), rejectUnauthorized: false, servername: 'x.internal' }, 'kafka.tls');
  assert.deepEqual(
    { ca: String(t.ca), cert: String(t.cert), key: String(t.key), rejectUnauthorized: t.rejectUnauthorized, servername: t.servername },
    { ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM', rejectUnauthorized: false, servername: 'x.internal' },
  );
  assert.deepEqual(readTlsFiles({}, 'otlp.tls'), {});
  assert.deepEqual(Object.keys(readTlsFiles({ rejectUnauthorized: true }, 'otlp.tls')), ['rejectUnauthorized']);
  refusesMissing(() => readTlsFiles({ cert: join(dir, 'missing.pem') }, 'otlp.tls'), 'otlp.tls.cert');
});

test('readSecretFile / readConfigFile: the text without its final newline; the bytes', () => {
  assert.equal(readSecretFile(join(dir, 'secret'), 'kafka.sasl.passwordFile'), 's3cret');
  assert.equal(String(readConfigFile(join(dir, 'secret'), 'otlp.headersFile')), 's3cret\n');
  refusesMissing(() => readSecretFile(join(dir, 'missing.pem'), 'elasticsearch.auth.apiKeyFile'), 'elasticsearch.auth.apiKeyFile');
});

test('syslog and Splunk HEC read their TLS files through it', () => {
  const syslog = { host: '127.0.0.1', port: 6514, transport: 'tls', protocol: 'rfc5424', framing: 'octet-counting', facility: 'local0', appName: 'ebpf-sensor', events: 'all' } as const;
  refusesMissing(() => syslogSinkFromConfig({ ...syslog, tls: { ca: join(dir, 'missing.pem') } } as never, (() => '') as never, 'h'), 'syslog.tls.ca');
  refusesMissing(
    () => new HecClient({ url: 'https://127.0.0.1:8088', token: 't', gzip: false, requestTimeoutMs: 1000, tls: { key: join(dir, 'missing.pem'), rejectUnauthorized: true } }),
    'splunk.tls.key',
  );
  // Plain http reads no TLS file at all.
  assert.doesNotThrow(() => new HecClient({ url: 'http://127.0.0.1:8088', token: 't', gzip: false, requestTimeoutMs: 1000, tls: { key: join(dir, 'missing.pem'), rejectUnauthorized: true } }));
});
