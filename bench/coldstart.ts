/**
 * Cold start of the function's entry module: wall time of `node -e "require(entry)"` against bare
 * `node -e ""`, plus what each part costs inside one process and which modules end up loaded.
 */
import { spawnSync } from 'node:child_process';
import { median } from './stats';

/** Settings that pass validation, as in Azure (identity-based trigger, Logs Ingestion configured). */
export const ENTRY_ENV: Readonly<Record<string, string>> = {
  EventHubConnection__fullyQualifiedNamespace: 'bench.servicebus.windows.net',
  LOGS_INGESTION_ENDPOINT: 'https://bench.westeurope-1.ingest.monitor.azure.com',
  LOGS_INGESTION_RULE_ID: 'dcr-00000000000000000000000000000000',
};

/** Azure SDK clients the entry must not load before the first delivery. */
export const SDK_CLIENTS = [
  '@azure/identity',
  '@azure/monitor-ingestion',
  '@azure/storage-blob',
  '@azure/event-hubs',
  '@azure/eventhubs-checkpointstore-blob',
];

function env(): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  return { ...clean, ...ENTRY_ENV };
}

function wallMs(args: string[]): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env: env(), stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${r.stderr.toString()}`);
  return ms;
}

export interface ColdStart {
  readonly runs: number;
  readonly bareMs: number;
  readonly entryMs: number;
  readonly zodMs: number;
  readonly functionsMs: number;
  /** Inside one process: time to require each part, in load order. */
  readonly parts: { readonly zod: number; readonly functions: number; readonly ownCode: number };
  readonly modules: {
    readonly total: number;
    readonly zod: number;
    readonly own: number;
    readonly other: number;
  };
  readonly sdkClientsLoaded: readonly string[];
}

export function measureColdStart(entry: string, runs: number): ColdStart {
  const require = (m: string) => `require(${JSON.stringify(m)})`;
  const samples = {
    bare: [] as number[],
    entry: [] as number[],
    zod: [] as number[],
    functions: [] as number[],
  };
  for (let i = 0; i < runs; i++) {
    // Interleaved, so that load on the machine hits every variant alike.
    samples.bare.push(wallMs(['-e', '']));
    samples.entry.push(wallMs(['-e', require(entry)]));
    samples.zod.push(wallMs(['-e', require('zod')]));
    samples.functions.push(wallMs(['-e', require('@azure/functions')]));
  }
  const probe = `
    const t = () => Number(process.hrtime.bigint()) / 1e6;
    const t0 = t(); require('zod'); const t1 = t(); require('@azure/functions'); const t2 = t();
    require(${JSON.stringify(entry)}); const t3 = t();
    const keys = Object.keys(require.cache);
    const sdk = ${JSON.stringify(SDK_CLIENTS)}.filter((c) => keys.some((k) => k.includes('/node_modules/' + c + '/')));
    process.stdout.write(JSON.stringify({
      parts: { zod: t1 - t0, functions: t2 - t1, ownCode: t3 - t2 },
      modules: {
        total: keys.length,
        zod: keys.filter((k) => k.includes('/node_modules/zod/')).length,
        own: keys.filter((k) => !k.includes('/node_modules/')).length,
        other: keys.filter((k) => k.includes('/node_modules/') && !k.includes('/node_modules/zod/')).length,
      },
      sdk,
    }));`;
  const partsRuns: { parts: ColdStart['parts']; modules: ColdStart['modules']; sdk: string[] }[] = [];
  for (let i = 0; i < Math.max(3, Math.ceil(runs / 3)); i++) {
    const r = spawnSync(process.execPath, ['-e', probe], { env: env() });
    if (r.status !== 0) throw new Error(`cold-start probe failed: ${r.stderr.toString()}`);
    partsRuns.push(JSON.parse(r.stdout.toString()) as (typeof partsRuns)[number]);
  }
  const first = partsRuns[0]!;
  return {
    runs,
    bareMs: median(samples.bare),
    entryMs: median(samples.entry),
    zodMs: median(samples.zod),
    functionsMs: median(samples.functions),
    parts: {
      zod: median(partsRuns.map((p) => p.parts.zod)),
      functions: median(partsRuns.map((p) => p.parts.functions)),
      ownCode: median(partsRuns.map((p) => p.parts.ownCode)),
    },
    modules: first.modules,
    sdkClientsLoaded: [...new Set(partsRuns.flatMap((p) => p.sdk))],
  };
}
