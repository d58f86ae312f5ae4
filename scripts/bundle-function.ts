/**
 * Bundles the function app into one file, `dist/function/packetCaptureDetector.js` (package.json `main`,
 * what the Functions host loads). Node resolves, reads and compiles every module of a dependency tree one
 * file at a time; zod alone is about a hundred files, most of them never used. One tree-shaken file holds
 * only the code the trigger can run: the import takes about half the time (BENCHMARKS.md › Cold start).
 *
 * The Azure SDK clients stay outside the bundle, in node_modules: they are loaded by the first delivery,
 * never by the import. `@azure/functions-core` is provided by the worker at run time.
 */
import { build, type Metafile } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Azure SDK clients: loaded on the first delivery, so they must stay out of the bundle. */
export const LAZY_SDK_CLIENTS = [
  '@azure/identity',
  '@azure/monitor-ingestion',
  '@azure/storage-blob',
  '@azure/data-tables',
  '@azure/event-hubs',
  '@azure/eventhubs-checkpointstore-blob',
] as const;

/** Relative to the repository root; equals package.json `main` (a test checks). */
export const FUNCTION_BUNDLE = 'dist/function/packetCaptureDetector.js';
export const FUNCTION_ENTRY_SOURCE = 'src/functions/packetCaptureDetector.ts';

export interface BundleResult {
  readonly outfile: string;
  readonly metafile: Metafile;
}

export async function bundleFunction(
  root: string,
  outfile = join(root, FUNCTION_BUNDLE),
): Promise<BundleResult> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [join(root, FUNCTION_ENTRY_SOURCE)],
    outfile,
    bundle: true,
    platform: 'node',
    // The oldest Node the package supports (engines); Azure runs Node 22.
    target: 'node20.19',
    format: 'cjs',
    external: ['@azure/functions-core', ...LAZY_SDK_CLIENTS],
    // Whitespace and syntax only: identifiers keep their names, so a stack trace from Azure is readable
    // without the source map.
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    sourcesContent: true,
    legalComments: 'eof',
    metafile: true,
    logLevel: 'warning',
  });
  return { outfile, metafile: result.metafile };
}

async function main(): Promise<void> {
  const root = resolve(__dirname, '../..');
  const { outfile, metafile } = await bundleFunction(root);
  const metaPath = join(dirname(outfile), 'meta.json');
  mkdirSync(dirname(metaPath), { recursive: true });
  // The bench reads it to report what the bundle is made of.
  writeFileSync(metaPath, JSON.stringify(metafile));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
