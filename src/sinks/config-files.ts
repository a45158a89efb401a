/**
 * Files that a sink's configuration names, read when the sink is built:
 * TLS material (PEM CA, certificate, key) and secrets (passwords, API keys,
 * tokens). Takes paths and the config field that named them; gives their
 * contents, or ESENSOR_SINK_CONFIG naming the file and the field.
 */
import { readFileSync } from 'node:fs';
import { SensorError } from '../errors.js';

/** The TLS settings every network sink's config section shares (PEM files by path). */
export interface TlsFileSettings {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
}

/** Node TLS options read from those settings: the PEM files' contents, and only what is set. */
export interface TlsFileOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
}

/** The bytes of a file a config field names. */
export function readConfigFile(file: string, field: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new SensorError('ESENSOR_SINK_CONFIG', `cannot read ${field} ${file}: ${(e as Error).message}`, { file, field, cause: e });
  }
}

/** A secret kept in a file: its text without the final line break. */
export function readSecretFile(file: string, field: string): string {
  return readConfigFile(file, field).toString('utf8').replace(/\r?\n$/, '');
}

/** TLS options from a config section's settings (`section` names it in errors, e.g. "kafka.tls"). */
export function readTlsFiles(t: TlsFileSettings, section: string): TlsFileOptions {
  return {
    ...(t.ca !== undefined ? { ca: readConfigFile(t.ca, `${section}.ca`) } : {}),
    ...(t.cert !== undefined ? { cert: readConfigFile(t.cert, `${section}.cert`) } : {}),
    ...(t.key !== undefined ? { key: readConfigFile(t.key, `${section}.key`) } : {}),
    ...(t.rejectUnauthorized !== undefined ? { rejectUnauthorized: t.rejectUnauthorized } : {}),
    ...(t.servername !== undefined ? { servername: t.servername } : {}),
  };
}
