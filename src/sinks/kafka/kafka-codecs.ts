/**
 * sinks/kafka codecs: the record batch compressions the Kafka sink offers,
 * registered in kafkajs' codec table.
 *
 * Takes: a compression name (`kafka.compression`) and a level. Gives: the
 * kafkajs CompressionTypes value to send with, after registering the codec
 * kafkajs needs for it: gzip with a chosen level (kafkajs' own uses zlib's
 * default, 6), LZ4 frames through lz4-napi (lz4_flex, the frame format Kafka
 * reads since magic v1: independent blocks, no block checksums), Zstandard
 * through zstd-napi (the zstd library). kafkajs ships only gzip; the native
 * packages are loaded when their codec is chosen, so a sensor that never
 * uses them never maps them. Measured choice of the default:
 * docs/benchmarks.md "Kafka: codecs".
 *
 * kafkajs keeps one codec table per process: the last level set for a codec
 * wins (one Kafka sink per sensor).
 */
import { createRequire } from 'node:module';
import { gzip, unzip } from 'node:zlib';
import { promisify } from 'node:util';
import kafkajs, { CompressionTypes } from 'kafkajs';
import { SensorError } from '../../errors.js';

/** `kafka.compression` values (schemas/config.schema.json). */
export type KafkaCompression = 'lz4' | 'zstd' | 'gzip' | 'none';

export const KAFKA_COMPRESSIONS: readonly KafkaCompression[] = ['lz4', 'zstd', 'gzip', 'none'];

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

const require = createRequire(import.meta.url);
const codecs = (kafkajs as unknown as { CompressionCodecs: Record<number, () => Codec> }).CompressionCodecs;
const registered = new Map<number, number>();

function load<T>(pkg: string, compression: string): T {
  try {
    return require(pkg) as T;
  } catch (e) {
    throw new SensorError('ESENSOR_SINK_CONFIG', `kafka.compression ${compression} needs the package ${pkg}, which does not load here: ${(e as Error).message}`, {
      field: 'kafka.compression',
      cause: e,
    });
  }
}

function gzipCodec(level: number): Codec {
  const gz = promisify(gzip);
  const unz = promisify(unzip);
  return { compress: (e) => gz(e.buffer, { level }), decompress: (b) => unz(b) };
}

function lz4Codec(): Codec {
  const lz4 = load<{ compressFrame(b: Uint8Array): Promise<Buffer>; decompressFrame(b: Uint8Array): Promise<Buffer> }>('lz4-napi', 'lz4');
  // Async: lz4-napi runs both in libuv's thread pool, as zlib does for gzip.
  return { compress: (e) => lz4.compressFrame(e.buffer), decompress: (b) => lz4.decompressFrame(b) };
}

function zstdCodec(level: number): Codec {
  type Params = { compressionLevel?: number };
  const z = load<{ compress(b: Uint8Array, p?: { compressionLevel?: number }): Buffer; decompress(b: Uint8Array): Buffer }>('zstd-napi', 'zstd');
  const params: Params = { compressionLevel: level };
  // Synchronous on the event loop: ≈ 2 ms for a 1 MB request at level 1–3.
  return {
    compress: async (e) => z.compress(e.buffer, params),
    decompress: async (b) => z.decompress(b),
  };
}

/**
 * Registers the codec for `compression` (at `level` for gzip and zstd) and
 * returns the kafkajs type to send with. Throws ESENSOR_SINK_CONFIG when the
 * codec's package does not load.
 */
export function useCompression(compression: KafkaCompression, level: number): CompressionTypes {
  switch (compression) {
    case 'none':
      return CompressionTypes.None;
    case 'gzip':
      if (registered.get(CompressionTypes.GZIP) !== level) {
        const c = gzipCodec(level);
        codecs[CompressionTypes.GZIP] = () => c;
        registered.set(CompressionTypes.GZIP, level);
      }
      return CompressionTypes.GZIP;
    case 'lz4':
      if (!registered.has(CompressionTypes.LZ4)) {
        const c = lz4Codec();
        codecs[CompressionTypes.LZ4] = () => c;
        registered.set(CompressionTypes.LZ4, 0);
      }
      return CompressionTypes.LZ4;
    case 'zstd':
      if (registered.get(CompressionTypes.ZSTD) !== level) {
        const c = zstdCodec(level);
        codecs[CompressionTypes.ZSTD] = () => c;
        registered.set(CompressionTypes.ZSTD, level);
      }
      return CompressionTypes.ZSTD;
  }
}
