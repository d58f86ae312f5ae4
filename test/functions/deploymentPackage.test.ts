import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { parse } from 'yaml';
import { ENTRY_ENV } from '../../bench/coldstart';
import { bundleFunction, FUNCTION_BUNDLE } from '../../scripts/bundle-function';
import {
  externalPackages,
  PACKAGE_DIR,
  stagePackage,
  type StagedPackage,
} from '../../scripts/package-function';
import { SHIPPED_ALLOWLIST_FILE } from '../../src/triage/allowlist';

/**
 * The deployment package (`npm run package`, azure.yaml's `dist`) staged into a temporary folder outside the
 * repository, so that Node cannot fall back to the repository's node_modules, then loaded the way the
 * Functions host loads it: a fresh `node` with that folder as working directory, NODE_PATH unset, HOME pointing
 * at an empty folder, and `@azure/functions-core` supplied the way the Node.js worker supplies it (it patches
 * `Module.prototype.require`), so that `app.eventHub` really registers instead of falling into test mode.
 */

const root = join(__dirname, '../..');
const MAX_BYTES = 60 * 1000 * 1000;

interface LockFile {
  packages: Record<string, { version?: string; dev?: boolean; devOptional?: boolean }>;
}
interface PackageJson {
  main: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
}

const readJson = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'));

// What the Node.js worker hands the programming model (azure-functions-nodejs-worker, setupCoreModule).
const WORKER_CORE_PRELOAD = `
const Module = require('node:module');
const registered = [];
let model;
const core = {
  version: '3.10.1',
  hostVersion: '4.1040.0',
  setProgrammingModel(m) { model = { name: m.name, version: m.version }; },
  getProgrammingModel() { return model; },
  registerHook() { return { dispose() {} }; },
  registerFunction(metadata, callback) {
    registered.push({ metadata, callback: typeof callback });
    return { dispose() {} };
  },
  log() {},
  Disposable: class { dispose() {} },
};
const originalRequire = Module.prototype.require;
Module.prototype.require = function (id) {
  return id === '@azure/functions-core' ? core : originalRequire.apply(this, arguments);
};
globalThis.__worker = { registered, model: () => model };
`;

// Loads package.json main from the working directory, then every SDK client the bundle imports lazily (the
// first delivery would), and reports what was registered and every CommonJS module loaded from elsewhere than
// the package (the worker preload aside).
const PROBE = `
const path = require('node:path');
const { createRequire } = require('node:module');
const cwd = process.cwd();
const pkg = require(path.join(cwd, 'package.json'));
const main = path.join(cwd, pkg.main);
require(main);
(async () => {
  const lazy = {};
  const fromBundle = createRequire(main);
  for (const spec of JSON.parse(process.argv[1])) {
    try {
      const resolved = fromBundle.resolve(spec);
      const exported = Object.keys(await import(spec)).length;
      lazy[spec] = { resolved, exported };
    } catch (error) {
      lazy[spec] = { error: String(error && error.message) };
    }
  }
  const loaded = Object.keys(require.cache).filter((f) => path.isAbsolute(f));
  process.stdout.write(JSON.stringify({
    registered: globalThis.__worker.registered,
    model: globalThis.__worker.model(),
    lazy,
    loadedOutside: loaded.filter((f) => !f.startsWith(cwd + path.sep) && f !== process.argv[2]),
  }));
})();
`;

interface Probe {
  registered: {
    metadata: { name: string; bindings: Record<string, Record<string, unknown>> };
    callback: string;
  }[];
  model: { name: string; version: string } | undefined;
  lazy: Record<string, { resolved?: string; exported?: number; error?: string }>;
  loadedOutside: string[];
}

function installedPackages(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    if (entry.name.startsWith('@')) {
      out.push(...installedPackages(join(dir, entry.name), `${prefix}${entry.name}/`));
      continue;
    }
    const path = `${prefix}${entry.name}`;
    out.push(path);
    out.push(...installedPackages(join(dir, entry.name, 'node_modules')).map((p) => `${path}>${p}`));
  }
  return out;
}

describe('deployment package (npm run package)', () => {
  let tmp: string;
  let outDir: string;
  let staged: StagedPackage;
  let externals: string[];
  let probe: Probe;
  let stderr: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'pcd-package-'));
    outDir = join(tmp, 'package');
    // A fresh bundle from the current sources, built where no node_modules is above it.
    const built = await bundleFunction(root, join(tmp, 'bundle', 'packetCaptureDetector.js'));
    externals = externalPackages(built.metafile, built.outfile);
    staged = stagePackage({ root, outDir, bundle: built });

    const workerDir = join(tmp, 'worker');
    mkdirSync(workerDir);
    const preload = join(workerDir, 'functions-core-preload.cjs');
    writeFileSync(preload, WORKER_CORE_PRELOAD);
    const home = join(tmp, 'home');
    mkdirSync(home);
    const run = spawnSync(
      process.execPath,
      ['--require', preload, '-e', PROBE, JSON.stringify(externals), preload],
      {
        cwd: outDir,
        // ALLOWLIST_PATH as the deployment sets it: the entry must find the shipped file beside host.json.
        env: { PATH: process.env.PATH, HOME: home, ...ENTRY_ENV, ALLOWLIST_PATH: SHIPPED_ALLOWLIST_FILE },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    if (run.status !== 0) throw new Error(`probe failed (${String(run.status)}): ${run.stderr}`);
    probe = JSON.parse(run.stdout) as Probe;
    stderr = run.stderr;
  }, 180_000);

  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  it('is staged where nothing above it could lend a module', () => {
    for (let dir = dirname(outDir); dir !== dirname(dir); dir = dirname(dir)) {
      expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    }
  });

  it('holds host.json, the allowlist, package.json, its lockfile, the bundle with its map, and node_modules only', () => {
    expect(readdirSync(outDir).sort()).toEqual(
      [
        'dist',
        'host.json',
        SHIPPED_ALLOWLIST_FILE,
        'node_modules',
        'package-lock.json',
        'package.json',
      ].sort(),
    );
    // The same bytes as the repository's file, which the Sentinel watchlist is deployed from (test/infra).
    expect(readFileSync(join(outDir, SHIPPED_ALLOWLIST_FILE), 'utf8')).toBe(
      readFileSync(join(root, SHIPPED_ALLOWLIST_FILE), 'utf8'),
    );
    expect(readdirSync(join(outDir, dirname(FUNCTION_BUNDLE))).sort()).toEqual([
      'packetCaptureDetector.js',
      'packetCaptureDetector.js.map',
    ]);
    expect(readFileSync(join(outDir, 'host.json'), 'utf8')).toBe(
      readFileSync(join(root, 'host.json'), 'utf8'),
    );
    const pkg = readJson(join(outDir, 'package.json')) as PackageJson;
    expect(pkg.main).toBe(FUNCTION_BUNDLE);
    expect(pkg.scripts).toBeUndefined();
    expect(pkg.devDependencies).toBeUndefined();
  });

  it('depends on exactly the SDK clients the bundle imports lazily, at the repository ranges', () => {
    const rootPkg = readJson(join(root, 'package.json')) as PackageJson;
    expect(externals).toEqual([
      '@azure/data-tables',
      '@azure/identity',
      '@azure/monitor-ingestion',
      '@azure/storage-blob',
    ]);
    expect(staged.dependencies).toEqual(
      Object.fromEntries(externals.map((e) => [e, rootPkg.dependencies?.[e]])),
    );
  });

  it('installs the versions the repository lockfile pins, and no devDependency', () => {
    const rootLock = readJson(join(root, 'package-lock.json')) as LockFile;
    const stagedLock = readJson(join(outDir, 'package-lock.json')) as LockFile;
    const nameOf = (path: string) => path.replace(/.*node_modules\//, '');
    const entries = (lock: LockFile) =>
      Object.entries(lock.packages)
        .filter(([path]) => path !== '')
        .map(([path, p]) => ({ id: `${nameOf(path)}@${p.version ?? '?'}`, dev: p.dev === true }));
    const pinned = new Set(entries(rootLock).map((e) => e.id));
    const prodInRoot = new Set(
      entries(rootLock)
        .filter((e) => !e.dev)
        .map((e) => e.id),
    );
    const devOnlyInRoot = entries(rootLock)
      .filter((e) => e.dev && !prodInRoot.has(e.id))
      .map((e) => e.id);
    const stagedEntries = entries(stagedLock);
    expect(stagedEntries.length).toBeGreaterThan(10);
    expect(stagedEntries.filter((e) => !pinned.has(e.id))).toEqual([]);
    expect(stagedEntries.filter((e) => e.dev || devOnlyInRoot.includes(e.id))).toEqual([]);
    // What is on disk is what the lockfile says.
    const installed = installedPackages(join(outDir, 'node_modules'));
    expect(installed.length).toBe(stagedEntries.length);
    const names = installed.map((p) => p.replace(/.*>/, ''));
    const devDependencies = Object.keys(
      (readJson(join(root, 'package.json')) as PackageJson).devDependencies ?? {},
    );
    expect(devDependencies.length).toBeGreaterThan(5);
    expect(names.filter((name) => devDependencies.includes(name))).toEqual([]);
    // The CLI-only clients and what the bundle carries inside it stay out.
    for (const absent of [
      '@azure/event-hubs',
      '@azure/eventhubs-checkpointstore-blob',
      '@azure/functions',
      'zod',
    ]) {
      expect(names).not.toContain(absent);
    }
  });

  it(`is under ${MAX_BYTES / 1e6} MB`, () => {
    expect(staged.bytes).toBeGreaterThan(1e6);
    expect(staged.bytes).toBeLessThan(MAX_BYTES);
    expect(staged.declarationFilesRemoved).toBeGreaterThan(0);
  });

  it('registers the Event Hubs trigger when the host loads its main from that folder alone', () => {
    expect(stderr).not.toMatch(/Failed to detect the Azure Functions runtime|test mode/);
    expect(probe.model?.name).toBe('@azure/functions');
    expect(probe.registered).toHaveLength(1);
    const [fn] = probe.registered;
    expect(fn?.metadata.name).toBe('packetCaptureDetector');
    expect(fn?.callback).toBe('function');
    const trigger = Object.values(fn?.metadata.bindings ?? {}).find((b) => b.type === 'eventHubTrigger');
    expect(trigger).toMatchObject({
      direction: 'in',
      connection: 'EventHubConnection',
      eventHubName: '%EVENTHUB_NAME%',
      consumerGroup: '%EVENTHUB_CONSUMER_GROUP%',
      cardinality: 'many',
      dataType: 'binary',
    });
  });

  it('resolves every SDK client the first delivery loads from inside the package', () => {
    expect(Object.keys(probe.lazy).sort()).toEqual(externals);
    for (const [spec, result] of Object.entries(probe.lazy)) {
      expect(`${spec}: ${result.error ?? 'ok'}`).toBe(`${spec}: ok`);
      expect(result.resolved?.startsWith(`${outDir}${sep}node_modules${sep}`)).toBe(true);
      expect(result.exported).toBeGreaterThan(0);
    }
    expect(probe.loadedOutside).toEqual([]);
  });
});

describe('azd and the package agree', () => {
  const azureYaml = parse(readFileSync(join(root, 'azure.yaml'), 'utf8')) as {
    requiredVersions?: { azd?: string };
    services: Record<string, Record<string, unknown>>;
  };
  const service = azureYaml.services.detector ?? {};
  const pkg = readJson(join(root, 'package.json')) as PackageJson;

  it('deploys the staged folder, built locally', () => {
    expect(service).toMatchObject({ project: '.', language: 'ts', host: 'function', dist: PACKAGE_DIR });
    expect(service.remoteBuild).toBe(false);
    expect(service.hooks).toMatchObject({ prepackage: { run: 'npm run package' } });
    expect(pkg.scripts?.package).toBe('npm run build && node dist/scripts/package-function.js');
  });

  it('requires an azd that honours remoteBuild: false and builds locally', () => {
    expect(azureYaml.requiredVersions?.azd).toBe('>= 1.23.12');
  });

  it('.funcignore keeps node_modules (required with remoteBuild: false) and anchors every pattern', () => {
    const patterns = readFileSync(join(root, '.funcignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(patterns.length).toBeGreaterThan(5);
    expect(patterns.filter((p) => p.includes('node_modules'))).toEqual([]);
    // Unanchored patterns (`src`, `*.md`) would match inside node_modules too.
    expect(patterns.filter((p) => !p.startsWith('/'))).toEqual([]);
    expect(patterns).toContain(`/${PACKAGE_DIR}`);
  });
});
