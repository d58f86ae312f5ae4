/**
 * Stages the deployment package of the function app: what the Functions host runs and nothing else.
 * `npm run package` writes it to dist/package (azure.yaml's `dist`; zip its contents for the az CLI path):
 *
 *   host.json
 *   allowlist.csv       the repository's allowlist (ALLOWLIST_PATH; the Sentinel watchlist is the same file)
 *   package.json        `main` and the production dependencies the bundle loads at run time, no scripts
 *   package-lock.json   written by npm for exactly that package.json, versions from the repository lockfile
 *   dist/function/packetCaptureDetector.js (+ .map)   the esbuild bundle (scripts/bundle-function.ts)
 *   node_modules/       `npm install --omit=dev --ignore-scripts` of those dependencies
 *
 * The dependencies are not copied from the repository's package.json: the bundle carries @azure/functions and
 * zod inside it, and the CLI-only clients (@azure/event-hubs, the checkpoint store) are never loaded by the
 * function. They are read from the bundle's metafile instead, as the packages the bundle imports and esbuild
 * left external, so the package cannot miss one the bundle needs nor carry one it does not.
 *
 * TypeScript declaration files are removed from node_modules afterwards: Node never loads them, and they are
 * about a sixth of the bytes. Nothing else is touched.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import type { Metafile } from 'esbuild';
import { SHIPPED_ALLOWLIST_FILE } from '../src/triage/allowlist';
import { FUNCTION_BUNDLE } from './bundle-function';

/** Repository-relative staging folder; azure.yaml's `dist` (a test checks they agree). */
export const PACKAGE_DIR = 'dist/package';

/** Provided by the Functions worker at run time, never installed. */
const WORKER_PROVIDED = new Set(['@azure/functions-core']);

const DECLARATION_FILE = /\.d\.(ts|mts|cts)(\.map)?$/;

interface RootPackageJson {
  readonly name: string;
  readonly version: string;
  readonly description?: string;
  readonly license?: string;
  readonly main: string;
  readonly engines?: Record<string, string>;
  readonly dependencies?: Record<string, string>;
}

export interface StageOptions {
  /** Repository root (package.json, package-lock.json, host.json, allowlist.csv). */
  readonly root: string;
  /** Folder to stage into; emptied first. */
  readonly outDir: string;
  /** The bundle to ship and its esbuild metafile. Default: dist/function/packetCaptureDetector.js and meta.json. */
  readonly bundle?: { readonly outfile: string; readonly metafile: Metafile };
  /** Passed to npm (tests point it at a private cache). */
  readonly env?: NodeJS.ProcessEnv;
}

export interface StagedPackage {
  readonly outDir: string;
  /** Production dependencies written to the staged package.json, with their ranges. */
  readonly dependencies: Readonly<Record<string, string>>;
  readonly files: number;
  readonly bytes: number;
  readonly declarationFilesRemoved: number;
}

/** Package name of an import specifier (`@scope/name/sub` → `@scope/name`), or undefined for a built-in. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('node:') || builtinModules.includes(specifier)) return undefined;
  if (specifier.startsWith('.') || specifier.startsWith('/')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The packages the bundle imports at run time and that esbuild kept out of it (the SDK clients). */
export function externalPackages(metafile: Metafile, outfile: string): string[] {
  const output = Object.entries(metafile.outputs).find(
    ([path, o]) => o.entryPoint !== undefined && resolve(path) === resolve(outfile),
  )?.[1];
  const entry = output ?? Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined);
  if (!entry) throw new Error('package: the metafile has no entry point output');
  const names = new Set<string>();
  for (const imported of entry.imports) {
    if (imported.external !== true) continue;
    const name = packageOf(imported.path);
    if (name !== undefined && !WORKER_PROVIDED.has(name)) names.add(name);
  }
  return [...names].sort();
}

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** npm as the current `npm run` invoked it, else the one on PATH. */
function npmCommand(): { command: string; prefix: string[]; shell: boolean } {
  const execPath = process.env.npm_execpath;
  if (execPath && /npm-cli\.[cm]?js$/.test(execPath)) {
    return { command: process.execPath, prefix: [execPath], shell: false };
  }
  return { command: 'npm', prefix: [], shell: process.platform === 'win32' };
}

function walk(dir: string, visit: (file: string, size: number) => void): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, visit);
    else if (entry.isFile()) visit(path, lstatSync(path).size);
  }
}

/** Files and bytes (sum of file sizes) under a folder. */
export function folderSize(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  walk(dir, (_file, size) => {
    files += 1;
    bytes += size;
  });
  return { files, bytes };
}

export function stagePackage(options: StageOptions): StagedPackage {
  const { root, outDir } = options;
  const bundle = options.bundle ?? {
    outfile: join(root, FUNCTION_BUNDLE),
    metafile: readJson(join(root, dirname(FUNCTION_BUNDLE), 'meta.json')) as Metafile,
  };
  for (const required of [bundle.outfile, `${bundle.outfile}.map`]) {
    if (!existsSync(required)) throw new Error(`package: ${required} is missing (run npm run build)`);
  }
  const pkg = readJson(join(root, 'package.json')) as RootPackageJson;
  if (pkg.main !== FUNCTION_BUNDLE) {
    throw new Error(`package: package.json main is ${pkg.main}, expected ${FUNCTION_BUNDLE}`);
  }

  const dependencies: Record<string, string> = {};
  for (const name of externalPackages(bundle.metafile, bundle.outfile)) {
    const range = pkg.dependencies?.[name];
    if (range === undefined) {
      throw new Error(`package: the bundle imports ${name}, which is not a dependency in package.json`);
    }
    dependencies[name] = range;
  }

  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(join(outDir, dirname(FUNCTION_BUNDLE)), { recursive: true });
  copyFileSync(join(root, 'host.json'), join(outDir, 'host.json'));
  // The function reads it at start-up (the app setting ALLOWLIST_PATH names it, relative to this folder).
  copyFileSync(join(root, SHIPPED_ALLOWLIST_FILE), join(outDir, SHIPPED_ALLOWLIST_FILE));
  // The repository lockfile pins the versions; npm prunes it to this package.json and rewrites it.
  copyFileSync(join(root, 'package-lock.json'), join(outDir, 'package-lock.json'));
  const staged = {
    name: pkg.name,
    version: pkg.version,
    description: pkg.description,
    license: pkg.license,
    private: true,
    main: pkg.main,
    engines: pkg.engines,
    dependencies,
  };
  writeFileSync(join(outDir, 'package.json'), `${JSON.stringify(staged, null, 2)}\n`);

  const npm = npmCommand();
  const args = [
    ...npm.prefix,
    'install',
    '--omit=dev',
    '--ignore-scripts',
    '--no-audit',
    '--no-fund',
    '--prefer-offline',
    '--loglevel=error',
  ];
  const result = spawnSync(npm.command, args, {
    cwd: outDir,
    env: options.env ?? process.env,
    encoding: 'utf8',
    shell: npm.shell,
  });
  if (result.status !== 0) {
    throw new Error(
      `package: npm install in ${outDir} failed (exit ${String(result.status)}): ${result.error?.message ?? ''}${result.stderr}`,
    );
  }

  let declarationFilesRemoved = 0;
  const modules = join(outDir, 'node_modules');
  if (existsSync(modules)) {
    walk(modules, (file) => {
      if (DECLARATION_FILE.test(file)) {
        unlinkSync(file);
        declarationFilesRemoved += 1;
      }
    });
  }

  copyFileSync(bundle.outfile, join(outDir, FUNCTION_BUNDLE));
  copyFileSync(`${bundle.outfile}.map`, join(outDir, `${FUNCTION_BUNDLE}.map`));
  const size = folderSize(outDir);
  return { outDir, dependencies, declarationFilesRemoved, ...size };
}

function main(): void {
  const root = resolve(__dirname, '../..');
  const outDir = join(root, PACKAGE_DIR);
  const staged = stagePackage({ root, outDir });
  const mb = (staged.bytes / (1024 * 1024)).toFixed(1);
  console.log(
    `package: staged ${relative(root, outDir)} (${staged.files} files, ${mb} MiB; dependencies ${Object.keys(staged.dependencies).join(', ')}; ${staged.declarationFilesRemoved} declaration files left out)`,
  );
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}
