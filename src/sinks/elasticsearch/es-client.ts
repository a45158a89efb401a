/**
 * Elasticsearch client factory: version negotiation between the bundled
 * `@elastic/elasticsearch` 9.x client and the server it is pointed at.
 *
 * Takes: client options (nodes, auth, TLS…). Gives: a `Client` whose
 * REST-compatibility headers match the server's major version, plus that
 * version.
 *
 * Why this exists: the 9.x client sends `Accept` / `Content-Type:
 * application/vnd.elasticsearch+json; compatible-with=9` on every request. A
 * 9.x (or newer) server accepts that; an 8.x server refuses every request with
 * `media_type_header_exception` ("Accept version must be either version 8 or
 * 7, but found 9"). Elasticsearch servers accept the previous major's
 * compatible-with value, so against 8.x we send `compatible-with=8` (JSON and
 * NDJSON alike) and the same client works. The server's version is read with
 * plain `application/json` headers, which every major accepts.
 */
import { Client, SniffingTransport, errors, type Transport, type TransportOptions } from '@elastic/elasticsearch';
import { SensorError } from '../../errors.js';
import { componentLogger } from '../../telemetry/logger.js';

/**
 * The client's constructor options (the package's ESM typings do not export
 * the `ClientOptions` name).
 */
export type ClientOptions = ConstructorParameters<typeof Client>[0];

/**
 * Major version of the bundled `@elastic/elasticsearch` client. A unit test
 * checks it against the installed package, so an upgrade makes us revisit the
 * negotiation below.
 */
export const CLIENT_MAJOR = 9;

/** Oldest server major the bundled client can talk to (through REST API compatibility). */
export const OLDEST_SERVER_MAJOR = CLIENT_MAJOR - 1;

/** The version of an Elasticsearch cluster (its oldest node when versions are mixed). */
export interface ElasticsearchServerVersion {
  /** As the server reports it, for example `8.19.21` or `9.4.3`. */
  number: string;
  major: number;
  minor: number;
}

/** The three media types the transport puts on requests (the client's "vendored headers"). */
export interface CompatibilityHeaders {
  jsonContentType: string;
  ndjsonContentType: string;
  accept: string;
}

/** A client built for one server, and the version it was built for. */
export interface NegotiatedClient {
  client: Client;
  server: ElasticsearchServerVersion;
  /** True when requests carry `compatible-with=<server major>` instead of the client's own major. */
  compatibilityMode: boolean;
}

const PLAIN_JSON = { accept: 'application/json', 'content-type': 'application/json' };

/**
 * The headers to send to a server of `serverMajor`, or `undefined` when the
 * client's defaults (compatible-with=9) are right. Throws ESENSOR_SINK_CONFIG
 * for a server older than {@link OLDEST_SERVER_MAJOR}.
 */
export function compatibilityHeaders(serverMajor: number): CompatibilityHeaders | undefined {
  if (!Number.isInteger(serverMajor) || serverMajor < OLDEST_SERVER_MAJOR) {
    throw new SensorError(
      'ESENSOR_SINK_CONFIG',
      `Elasticsearch ${serverMajor}.x is not supported: the bundled ${CLIENT_MAJOR}.x client talks to ${OLDEST_SERVER_MAJOR}.x and newer servers`,
      { field: 'elasticsearch.node' },
    );
  }
  // A newer server accepts compatible-with=<its major - 1>, which is what the client sends.
  if (serverMajor >= CLIENT_MAJOR) return undefined;
  return {
    jsonContentType: `application/vnd.elasticsearch+json; compatible-with=${serverMajor}`,
    ndjsonContentType: `application/vnd.elasticsearch+x-ndjson; compatible-with=${serverMajor}`,
    accept: `application/vnd.elasticsearch+json; compatible-with=${serverMajor},text/plain`,
  };
}

/**
 * `options` adjusted for a server of `serverMajor`: when compatibility headers
 * are needed, a subclass of the configured transport (default: the client's
 * `SniffingTransport`) replaces the media types the client sets. Client-level
 * `headers` would not do: they would also override the NDJSON content type of
 * bulk requests.
 */
export function clientOptionsForServer(serverMajor: number, options: ClientOptions): ClientOptions {
  const vendoredHeaders = compatibilityHeaders(serverMajor);
  if (vendoredHeaders === undefined) return options;
  const Base: typeof Transport = options.Transport ?? SniffingTransport;
  class CompatibleTransport extends Base {
    constructor(opts: TransportOptions) {
      super({ ...opts, vendoredHeaders });
    }
  }
  return { ...options, Transport: CompatibleTransport };
}

/** Parses `8.19.21`, `9.4.3-SNAPSHOT`… Throws ESENSOR_SINK_UNAVAILABLE on anything else. */
export function parseServerVersion(number: string): ElasticsearchServerVersion {
  const m = /^(\d+)\.(\d+)/.exec(number);
  if (!m) {
    throw new SensorError('ESENSOR_SINK_UNAVAILABLE', `Elasticsearch reported an unreadable version "${number}"`);
  }
  return { number, major: Number(m[1]), minor: Number(m[2]) };
}

function oldest(versions: string[]): ElasticsearchServerVersion | undefined {
  let best: ElasticsearchServerVersion | undefined;
  for (const v of versions) {
    const p = parseServerVersion(v);
    if (!best || p.major < best.major || (p.major === best.major && p.minor < best.minor)) best = p;
  }
  return best;
}

function unavailable(node: unknown, e: unknown): SensorError {
  const status = e instanceof errors.ResponseError ? e.meta.statusCode : undefined;
  if (status === 401 || status === 403) {
    return new SensorError(
      'ESENSOR_SINK_CONFIG',
      `Elasticsearch at ${String(node)} refused the version check (HTTP ${status}): the user needs the "monitor" cluster privilege`,
      { field: 'elasticsearch.auth', cause: e },
    );
  }
  return new SensorError(
    'ESENSOR_SINK_UNAVAILABLE',
    `cannot read the Elasticsearch version at ${String(node)}: ${(e as Error).message}`,
    { retriable: true, cause: e },
  );
}

/**
 * Reads the cluster's version with headers every major accepts: the nodes-info
 * API first (it names every node, so a cluster in a rolling upgrade is judged
 * by its oldest node; minimal distributions such as the integration-test zip
 * have no `GET /`), then `GET /` (for services without nodes info).
 * Throws ESENSOR_SINK_UNAVAILABLE (retriable) when the server cannot be reached.
 */
export async function detectServerVersion(options: ClientOptions): Promise<ElasticsearchServerVersion> {
  const probe = new Client({ ...options, Transport: options.Transport ?? SniffingTransport, sniffOnStart: false });
  try {
    let first: unknown;
    try {
      const body = (await probe.transport.request(
        { method: 'GET', path: '/_nodes/_all/_none', querystring: { filter_path: 'nodes.*.version' } },
        { headers: PLAIN_JSON },
      )) as { nodes?: Record<string, { version?: string }> };
      const found = oldest(Object.values(body.nodes ?? {}).flatMap((n) => (n.version ? [n.version] : [])));
      if (found) return found;
    } catch (e) {
      if (!(e instanceof errors.ResponseError)) throw unavailable(options.node ?? options.nodes, e);
      first = e;
    }
    try {
      const body = (await probe.transport.request({ method: 'GET', path: '/' }, { headers: PLAIN_JSON })) as {
        version?: { number?: string };
      };
      if (body.version?.number) return parseServerVersion(body.version.number);
    } catch (e) {
      throw unavailable(options.node ?? options.nodes, first ?? e);
    }
    throw unavailable(options.node ?? options.nodes, first ?? new Error('no version in the nodes-info or root response'));
  } finally {
    await probe.close().catch(() => undefined);
  }
}

/**
 * Connects to Elasticsearch: reads the server's version, then builds a client
 * whose compatibility headers fit it. Call again (new client) after the
 * cluster is upgraded to a new major.
 *
 * @throws SensorError ESENSOR_SINK_UNAVAILABLE (retriable) when the server
 *   cannot be reached; ESENSOR_SINK_CONFIG when it is too old or refuses the
 *   credentials.
 */
export async function createElasticsearchClient(options: ClientOptions): Promise<NegotiatedClient> {
  const server = await detectServerVersion(options);
  const adjusted = clientOptionsForServer(server.major, options);
  const compatibilityMode = adjusted !== options;
  componentLogger('es-client').debug({ server: server.number, compatibilityMode }, 'elasticsearch version negotiated');
  return { client: new Client(adjusted), server, compatibilityMode };
}
