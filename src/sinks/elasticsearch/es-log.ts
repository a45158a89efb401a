/**
 * The Elasticsearch client's diagnostics → pino. The client reports through
 * events rather than a logger: failed requests (debug: delivery already logs
 * the failure it acts on), deprecation warnings the server attaches to
 * responses (warn, each distinct text at most once per 10 minutes), node
 * resurrections and sniffs (info). Request headers are never logged, so
 * credentials cannot leak.
 */
import type { Client } from '@elastic/elasticsearch';
import type { Logger } from '../../telemetry/logger.js';

const WARNING_EVERY_MS = 10 * 60_000;

export interface ClientLogBridge {
  /** Detach the listeners. */
  detach(): void;
}

/** Attach pino logging to a client's diagnostic events. */
export function bridgeClientLogs(client: Client, log: Logger, now: () => number = Date.now): ClientLogBridge {
  const warned = new Map<string, number>();
  const onResponse = (err: Error | null, result: { statusCode?: number; warnings?: string[] | null; meta?: { request?: { params?: { method?: string; path?: string } }; attempts?: number } } | null): void => {
    for (const w of result?.warnings ?? []) {
      const t = now();
      if ((warned.get(w) ?? -Infinity) + WARNING_EVERY_MS > t) continue;
      if (warned.size > 200) warned.clear();
      warned.set(w, t);
      log.warn({ warning: w, path: result?.meta?.request?.params?.path }, 'elasticsearch warning: %s', w);
    }
    if (err && log.isLevelEnabled('debug')) {
      const p = result?.meta?.request?.params;
      log.debug(
        { err: { type: err.name, message: err.message }, statusCode: result?.statusCode, method: p?.method, path: p?.path, attempts: result?.meta?.attempts },
        'elasticsearch request failed',
      );
    }
  };
  const onResurrect = (_err: Error | null, r: { connection?: { id?: string }; isAlive?: boolean; strategy?: string } | null): void => {
    log.info({ node: r?.connection?.id, alive: r?.isAlive, strategy: r?.strategy }, 'elasticsearch node resurrection attempt');
  };
  const onSniff = (err: Error | null, r: { meta?: { sniff?: { reason?: string } } } | null): void => {
    if (err) log.warn({ err: { type: err.name, message: err.message } }, 'elasticsearch sniff failed');
    else log.info({ reason: r?.meta?.sniff?.reason }, 'elasticsearch nodes sniffed');
  };
  const d = client.diagnostic;
  d.on('response', onResponse as never);
  d.on('resurrect', onResurrect as never);
  d.on('sniff', onSniff as never);
  return {
    detach() {
      d.off('response', onResponse as never);
      d.off('resurrect', onResurrect as never);
      d.off('sniff', onSniff as never);
    },
  };
}
