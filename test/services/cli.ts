/**
 * Command line of the test services, used by scripts/test.js around the
 * integration suite and by developers:
 *
 *   node dist/test/services/cli.js start --state FILE [--only kafka,elasticsearch] [--owner PID]
 *   node dist/test/services/cli.js stop --state FILE [--keep]
 *   node dist/test/services/cli.js status --state FILE
 *   node dist/test/services/cli.js stop-service NAME --state FILE
 *   node dist/test/services/cli.js start-service NAME --state FILE
 *
 * Exit codes: 0 done, 1 a service failed (the message names it and shows its
 * logs), 2 bad usage.
 */
import { parseArgs } from 'node:util';
import { isSensorError } from '../../src/errors.js';
import { readState } from './state.js';
import { SERVICE_NAMES, startService, startServices, stopService, stopServices, type ServiceName } from './services.js';

const USAGE = `usage: cli.js start|stop|status|stop-service NAME|start-service NAME --state FILE [--only a,b] [--owner PID] [--keep]
services: ${SERVICE_NAMES.join(', ')}`;

function serviceNames(list: string): ServiceName[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!(SERVICE_NAMES as readonly string[]).includes(n)) throw new UsageError(`unknown service ${n}`);
  }
  return names as ServiceName[];
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      state: { type: 'string' },
      only: { type: 'string' },
      owner: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [command, name] = positionals;
  if (!command || !values.state) throw new UsageError('a command and --state FILE are required');
  const file = values.state;
  switch (command) {
    case 'start': {
      const t0 = Date.now();
      const state = await startServices({
        stateFile: file,
        ...(values.only ? { only: serviceNames(values.only) } : {}),
        ...(values.owner ? { owner: Number(values.owner) } : {}),
      });
      process.stderr.write(`# services: all ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; state in ${file}\n`);
      for (const s of Object.values(state.services)) {
        process.stderr.write(
          `# services:   ${s.name.padEnd(15)} ${s.kind} ${s.version.padEnd(8)} ${s.address.padEnd(24)} ` +
            `fetch ${(s.timings.fetchMs / 1000).toFixed(1)} s${s.timings.downloaded ? ' (downloaded)' : ''}, ` +
            `prepare ${(s.timings.prepareMs / 1000).toFixed(1)} s, ready ${(s.timings.readyMs[0]! / 1000).toFixed(1)} s\n`,
        );
      }
      return 0;
    }
    case 'stop':
      await stopServices(file, { keep: values.keep });
      return 0;
    case 'status':
      console.log(JSON.stringify(readState(file), null, 2));
      return 0;
    case 'stop-service':
    case 'start-service': {
      if (!name) throw new UsageError(`${command} needs a service name`);
      const [svc] = serviceNames(name);
      if (command === 'stop-service') await stopService(svc!, file);
      else await startService(svc!, file);
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError || (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`# services: ${isSensorError(e) ? `${e.code}: ${e.message}` : ((e as Error).stack ?? String(e))}\n`);
    process.exit(1);
  },
);
