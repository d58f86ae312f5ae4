/**
 * Cold start of the function app: wall time of `node -e "require(main)"` against bare `node -e ""`, where
 * `main` is package.json `main`, the bundle the Functions host loads. The unbundled tsc output of the same
 * entry is measured beside it for reference, and one probe process says what the import loaded.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';
import { FUNCTION_BUNDLE, LAZY_SDK_CLIENTS } from '../scripts/bundle-function';
import { median } from './stats';

/** Settings that pass validation, as in Azure (identity-based trigger, Logs Ingestion configured). */
export const ENTRY_ENV: Readonly<Record<string, string>> = {
  EventHubConnection__fullyQualifiedNamespace: 'bench.servicebus.windows.net',
  LOGS_INGESTION_ENDPOINT: 'https://bench.westeurope-1.ingest.monitor.azure.com',
  LOGS_INGESTION_RULE_ID: 'dcr-00000000000000000000000000000000',
  // As main.bicep sets it (the allowlist too: env() below).
  PROTECTED_RESOURCE_IDS:
    '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-pcd-prod,/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-pcd-prod/providers/Microsoft.OperationalInsights/workspaces/log-pcd-prod',
};

/** As deployed, so the shipped allowlist is read and checked at import (absolute: the unbundled entry,
 * measured for reference, would resolve a relative path against dist/). */
let allowlistPath: string | undefined;

function env(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...ENTRY_ENV,
    ...(allowlistPath ? { ALLOWLIST_PATH: allowlistPath } : {}),
  };
}

function wallMs(args: string[]): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env: env(), stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${r.stderr.toString()}`);
  return ms;
}

/** What one `require` of a module costs and loads, measured inside a fresh process. */
export interface ImportProbe {
  readonly ms: number;
  /** Files (not built-ins) that the import added to the module cache. */
  readonly files: number;
  readonly sdkClientsLoaded: readonly string[];
}

export function probeImport(entry: string): ImportProbe {
  const script = `
    const before = new Set(Object.keys(require.cache));
    const t0 = process.hrtime.bigint();
    require(${JSON.stringify(entry)});
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const added = Object.keys(require.cache).filter((k) => !before.has(k));
    const sdk = ${JSON.stringify(LAZY_SDK_CLIENTS)}.filter((c) =>
      added.some((k) => k.includes('/node_modules/' + c + '/')));
    process.stdout.write(JSON.stringify({ ms, files: added.length, sdkClientsLoaded: sdk }));`;
  const r = spawnSync(process.execPath, ['-e', script], { env: env() });
  if (r.status !== 0) throw new Error(`import probe of ${entry} failed: ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString()) as ImportProbe;
}

/** Bytes of the bundle by origin, from the metafile the build writes beside it. */
export function bundleComposition(root: string): Record<string, number> {
  const meta = JSON.parse(readFileSync(join(root, 'dist/function/meta.json'), 'utf8')) as Metafile;
  const output = Object.values(meta.outputs).find((o) => o.entryPoint !== undefined);
  const parts: Record<string, number> = {};
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? 'detector (src/)';
    parts[pkg] = (parts[pkg] ?? 0) + bytesInOutput;
  }
  return parts;
}

/**
 * What the first delivery pays to load the SDK clients the import deferred: `@azure/identity` and
 * `@azure/monitor-ingestion` on the first alert, `@azure/storage-blob` on the first dead letter. Loaded
 * the way the bundle loads them (`import()` from the package root, ESM builds), after the bundle itself.
 */
export function probeFirstDelivery(root: string): Record<string, number> {
  const script = `
    require(${JSON.stringify(join(root, FUNCTION_BUNDLE))});
    (async () => {
      const ms = {};
      for (const c of ${JSON.stringify(FIRST_DELIVERY_IMPORTS)}) {
        const t0 = performance.now();
        await import(c);
        ms[c] = performance.now() - t0;
      }
      process.stdout.write(JSON.stringify(ms));
    })();`;
  const r = spawnSync(process.execPath, ['-e', script], { env: env(), cwd: root });
  if (r.status !== 0) throw new Error(`first-delivery probe failed: ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString()) as Record<string, number>;
}

const FIRST_DELIVERY_IMPORTS = ['@azure/identity', '@azure/monitor-ingestion', '@azure/storage-blob'];

export interface ColdStart {
  readonly runs: number;
  readonly bareMs: number;
  /** node + require(package.json main), the bundle. */
  readonly entryMs: number;
  /** node + require of the unbundled tsc output of the same entry, for reference. */
  readonly unbundledMs: number;
  /** node + require('@azure/functions') alone: the programming model every v4 app must import. */
  readonly functionsMs: number;
  readonly bundle: ImportProbe & { readonly bytes: number; readonly composition: Record<string, number> };
  readonly unbundled: ImportProbe;
  readonly sdkClientsLoaded: readonly string[];
  /** Medians, ms: loading each SDK client on first use (see probeFirstDelivery). */
  readonly firstDelivery: Record<string, number>;
}

export function measureColdStart(root: string, runs: number): ColdStart {
  allowlistPath = join(root, 'allowlist.csv');
  const main = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string }).main;
  if (main !== FUNCTION_BUNDLE) throw new Error(`package.json main is ${main}, expected ${FUNCTION_BUNDLE}`);
  const bundle = join(root, FUNCTION_BUNDLE);
  const unbundled = join(root, 'dist/src/functions/packetCaptureDetector.js');
  const load = (m: string) => `require(${JSON.stringify(m)})`;
  const functions = require.resolve('@azure/functions', { paths: [root] });
  const samples = {
    bare: [] as number[],
    entry: [] as number[],
    unbundled: [] as number[],
    functions: [] as number[],
  };
  for (let i = 0; i < runs; i++) {
    // Interleaved, so that load on the machine hits every variant alike.
    samples.bare.push(wallMs(['-e', '']));
    samples.entry.push(wallMs(['-e', load(bundle)]));
    samples.unbundled.push(wallMs(['-e', load(unbundled)]));
    samples.functions.push(wallMs(['-e', load(functions)]));
  }
  const probes = (entry: string): ImportProbe[] =>
    Array.from({ length: Math.max(3, Math.ceil(runs / 3)) }, () => probeImport(entry));
  const summarize = (ps: ImportProbe[]): ImportProbe => ({
    ms: median(ps.map((p) => p.ms)),
    files: ps[0]!.files,
    sdkClientsLoaded: [...new Set(ps.flatMap((p) => p.sdkClientsLoaded))],
  });
  const bundleProbe = summarize(probes(bundle));
  const unbundledProbe = summarize(probes(unbundled));
  const deliveries = Array.from({ length: 5 }, () => probeFirstDelivery(root));
  const firstDelivery = Object.fromEntries(
    FIRST_DELIVERY_IMPORTS.map((c) => [c, median(deliveries.map((d) => d[c] ?? Number.NaN))]),
  );
  return {
    runs,
    bareMs: median(samples.bare),
    entryMs: median(samples.entry),
    unbundledMs: median(samples.unbundled),
    functionsMs: median(samples.functions),
    bundle: {
      ...bundleProbe,
      bytes: readFileSync(bundle).length,
      composition: bundleComposition(root),
    },
    unbundled: unbundledProbe,
    sdkClientsLoaded: bundleProbe.sdkClientsLoaded,
    firstDelivery,
  };
}

/**
 * `node dist/bench/coldstart.js <root> <runs>` prints a ColdStart as JSON. The bench runs this in its own
 * small process: spawning from the bench's process, which holds a 0.5 GB corpus, adds ~20–30 ms of fork
 * cost to every sample (bare node included), which would flatter the ratio.
 */
if (require.main === module) {
  const [root, runs] = process.argv.slice(2);
  if (root === undefined) throw new Error('usage: coldstart.js <root> [runs]');
  process.stdout.write(JSON.stringify(measureColdStart(root, Number(runs ?? 15))));
}
