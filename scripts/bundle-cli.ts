/**
 * Bundles the command line into one file, `dist/cli/packet-capture-detector.js`, which bin/ runs. For the
 * same reason as the function's bundle (scripts/bundle-function.ts): Node resolves, reads and compiles every
 * module of a dependency tree one file at a time, and zod alone is about a hundred files. One tree-shaken
 * file starts `scan` about 70 ms sooner per process (BENCHMARKS.md › Scan as a process), which matters for a
 * command that is run over and over in scripts and whose speed is measured process against process.
 *
 * The Azure SDK clients stay outside, in node_modules: a command loads them when it first talks to Azure,
 * and `scan` of local files never does.
 */
import { build } from 'esbuild';
import { join, resolve } from 'node:path';
import { LAZY_SDK_CLIENTS } from './bundle-function';

/** Relative to the repository root; what bin/packet-capture-detector.js requires. */
export const CLI_BUNDLE = 'dist/cli/packet-capture-detector.js';
export const CLI_ENTRY_SOURCE = 'src/cli/main.ts';

export async function bundleCli(root: string, outdir = join(root, 'dist/cli')): Promise<string> {
  await build({
    absWorkingDir: root,
    entryPoints: {
      'packet-capture-detector': join(root, CLI_ENTRY_SOURCE),
    },
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20.19',
    format: 'cjs',
    external: [...LAZY_SDK_CLIENTS],
    // Whitespace and syntax only: identifiers keep their names, so stack traces stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    sourcesContent: true,
    legalComments: 'eof',
    logLevel: 'warning',
  });
  return outdir;
}

if (require.main === module) {
  bundleCli(resolve(__dirname, '../..')).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
