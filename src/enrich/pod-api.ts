/**
 * Pod labels (and names) from the Kubernetes API server, for the pods of this
 * node: the one enrichment that needs the cluster, so it is off unless
 * configured (kubernetes.podLabels).
 *
 * Takes: the API server's URL, the pod's service account (token and CA files,
 * in-cluster: /var/run/secrets/kubernetes.io/serviceaccount), the node's name.
 * Gives: for a pod uid, its name, namespace and labels (`key:value`, sorted:
 * ECS orchestrator.resource.label), from a cache. A uid the cache does not
 * know starts one refresh in the background — GET
 * /api/v1/pods?fieldSelector=spec.nodeName=NODE, the whole list of the node's
 * pods replacing the cache — and the event that asked goes on without labels;
 * later events of the pod carry them. Refreshes are at least `minRefreshMs`
 * apart, one at a time; the cache holds at most `maxPods` pods and a
 * response is read up to `maxBytes`. RBAC: get/list on pods (the chart's
 * ClusterRole when kubernetes.podLabels is on).
 *
 * The token is read from its file at every refresh (projected tokens rotate)
 * and goes only into the Authorization header: no log line, error message,
 * stat or metric carries it, and no response body is ever quoted (a server
 * could echo the header).
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { SensorError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';

export interface PodApiOptions {
  /** https://HOST:PORT of the API server. */
  url: string;
  tokenFile: string;
  caFile: string;
  nodeName: string;
  /** Least time between two refreshes (ms). */
  minRefreshMs?: number;
  /** Pods kept (a node runs at most 110 by default; the rest of a larger list is counted as dropped). */
  maxPods?: number;
  /** Largest response read (bytes). */
  maxBytes?: number;
  timeoutMs?: number;
  log?: Logger;
}

export interface PodMeta {
  name: string;
  namespace: string;
  /** `key:value`, sorted by key. */
  labels: readonly string[];
}

export interface PodApiStats {
  refreshes: number;
  failures: number;
  pods: number;
  /** Pods of a list past maxPods, not kept. */
  dropped: number;
  /** The last failure's error code and message (never the token). */
  lastError?: string;
}

/** Labels cut at this many per pod, values at this length (ECS keyword ignore_above is 1024). */
const MAX_LABELS = 64;
const MAX_LABEL_BYTES = 1024;

export class PodApiClient {
  private pods = new Map<string, PodMeta>();
  private inflight: Promise<void> | undefined;
  private lastStart = -Infinity;
  private readonly opts: Required<Omit<PodApiOptions, 'log'>> & { log?: Logger };
  readonly stats: PodApiStats = { refreshes: 0, failures: 0, pods: 0, dropped: 0 };

  constructor(opts: PodApiOptions) {
    this.opts = { minRefreshMs: 10_000, maxPods: 1024, maxBytes: 16 << 20, timeoutMs: 10_000, ...opts };
    if (!/^https:\/\//.test(opts.url)) {
      throw new SensorError('ESENSOR_CONFIG', `kubernetes.apiServer must be an https:// URL, got ${JSON.stringify(opts.url)}`, { field: 'kubernetes.apiServer' });
    }
  }

  /** The pod's metadata when cached; an unknown uid starts a refresh (when due) and gives undefined now. */
  pod(uid: string): PodMeta | undefined {
    const hit = this.pods.get(uid);
    if (hit === undefined) void this.refreshIfDue();
    return hit;
  }

  /** Start a refresh unless one runs or the last started less than minRefreshMs ago; resolves when it is done. */
  refreshIfDue(now = Date.now()): Promise<void> {
    if (this.inflight) return this.inflight;
    if (now - this.lastStart < this.opts.minRefreshMs) return Promise.resolve();
    this.lastStart = now;
    this.inflight = this.refresh()
      .catch((e: unknown) => {
        this.stats.failures++;
        const err = e instanceof SensorError ? e : new SensorError('ESENSOR_KUBE_API', `pod list failed: ${e instanceof Error ? e.message : String(e)}`, { retriable: true });
        this.stats.lastError = `${err.code}: ${err.message}`;
        this.opts.log?.warn({ code: err.code, node: this.opts.nodeName }, 'pod labels: %s', err.message);
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  /** One GET of this node's pods; replaces the cache. Throws ESENSOR_KUBE_API. */
  async refresh(): Promise<void> {
    const { url, tokenFile, caFile, nodeName, maxBytes, timeoutMs, maxPods } = this.opts;
    let token: string;
    let ca: Buffer;
    try {
      token = readFileSync(tokenFile, 'utf8').trim();
      ca = readFileSync(caFile);
    } catch (e) {
      throw new SensorError('ESENSOR_KUBE_API', `no service account: cannot read ${(e as NodeJS.ErrnoException).path ?? tokenFile} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { retriable: true });
    }
    const path = `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${nodeName}`)}`;
    const body = await new Promise<Buffer>((resolve, reject) => {
      const req = request(new URL(path, url), { method: 'GET', ca, headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
          if (n > maxBytes) {
            res.destroy();
            reject(new SensorError('ESENSOR_KUBE_API', `pod list larger than ${maxBytes} bytes`, { retriable: true }));
          } else chunks.push(c);
        });
        res.on('error', (e) => reject(apiError(e)));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status === 200) resolve(Buffer.concat(chunks));
          else reject(new SensorError('ESENSOR_KUBE_API', statusText(status, nodeName), { retriable: status !== 401 && status !== 403 }));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (e) => reject(apiError(e)));
      req.end();
    });
    this.stats.refreshes++;
    let list: unknown;
    try {
      list = JSON.parse(body.toString('utf8'));
    } catch {
      throw new SensorError('ESENSOR_KUBE_API', 'pod list is not JSON', { retriable: true });
    }
    const items = (list as { items?: unknown }).items;
    if (!Array.isArray(items)) throw new SensorError('ESENSOR_KUBE_API', 'pod list has no items array (not a PodList)', { retriable: true });
    const next = new Map<string, PodMeta>();
    let dropped = 0;
    for (const item of items) {
      const m = (item as { metadata?: { uid?: unknown; name?: unknown; namespace?: unknown; labels?: unknown } }).metadata;
      if (!m || typeof m.uid !== 'string' || typeof m.name !== 'string' || typeof m.namespace !== 'string') continue;
      if (next.size >= maxPods) {
        dropped++;
        continue;
      }
      next.set(m.uid, { name: m.name, namespace: m.namespace, labels: labelList(m.labels) });
    }
    this.pods = next;
    this.stats.pods = next.size;
    this.stats.dropped = dropped;
  }
}

function labelList(labels: unknown): string[] {
  if (!labels || typeof labels !== 'object') return [];
  const out: string[] = [];
  for (const k of Object.keys(labels).sort()) {
    const v = (labels as Record<string, unknown>)[k];
    if (typeof v !== 'string') continue;
    out.push(`${k}:${v}`.slice(0, MAX_LABEL_BYTES));
    if (out.length >= MAX_LABELS) break;
  }
  return out;
}

function statusText(status: number, node: string): string {
  if (status === 401) return 'the API server refused the service account token (401)';
  if (status === 403) return `the service account may not list pods (403): the ClusterRole needs get/list on pods (node ${node})`;
  return `the API server answered ${status}`;
}

function apiError(e: Error): SensorError {
  // Node's socket and TLS errors name the host and the failure, never request headers.
  return new SensorError('ESENSOR_KUBE_API', `API server unreachable: ${e.message}`, { retriable: true, cause: e });
}

/** The client's options from the kubernetes config section and the pod's environment; undefined when podLabels is off. */
export function podApiOptions(
  k: { podLabels: boolean; apiServer?: string; nodeName?: string; serviceAccountDir: string; refreshSeconds: number; maxPods: number },
  env: NodeJS.ProcessEnv,
  hostName: string,
): PodApiOptions | undefined {
  if (!k.podLabels) return undefined;
  let url = k.apiServer;
  if (url === undefined) {
    const host = env.KUBERNETES_SERVICE_HOST;
    if (!host) {
      throw new SensorError('ESENSOR_CONFIG', 'kubernetes.podLabels is on, but KUBERNETES_SERVICE_HOST is not set (not in a pod): set kubernetes.apiServer', { field: 'kubernetes.apiServer' });
    }
    url = `https://${host.includes(':') ? `[${host}]` : host}:${env.KUBERNETES_SERVICE_PORT ?? '443'}`;
  }
  return {
    url,
    tokenFile: `${k.serviceAccountDir}/token`,
    caFile: `${k.serviceAccountDir}/ca.crt`,
    nodeName: k.nodeName ?? env.NODE_NAME ?? hostName,
    minRefreshMs: k.refreshSeconds * 1000,
    maxPods: k.maxPods,
  };
}
