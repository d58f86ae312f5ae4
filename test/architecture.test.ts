import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/**
 * What each folder of src/ may import (besides itself, Node and npm packages). The floors follow the data
 * flow: lib at the bottom imports nothing of ours; decode and normalize only lib; detect reads normalized
 * events; alert turns findings into rows; triage tunes rows (allowlist, caller history); health counts records
 * from raw bytes; pipeline holds the ports and the batch runner over those; the
 * adapters (config, state, deliver, eventhubs) implement or configure the ports; the hosts (functions, cli) and
 * docs sit on top. README › Source layout states the same table (a test below keeps them equal).
 */
export const LAYERS: Readonly<Record<string, readonly string[]>> = {
  lib: [],
  decode: ['lib'],
  normalize: ['lib'],
  detect: ['normalize', 'lib'],
  alert: ['detect', 'normalize', 'lib'],
  triage: ['alert', 'detect', 'lib'],
  health: ['alert', 'lib'],
  pipeline: ['triage', 'health', 'alert', 'detect', 'decode', 'normalize', 'lib'],
  config: ['triage', 'health', 'alert', 'lib'],
  state: ['triage', 'pipeline', 'config', 'lib'],
  deliver: ['state', 'pipeline', 'triage', 'config', 'health', 'alert', 'lib'],
  eventhubs: ['deliver', 'config', 'lib'],
  functions: ['deliver', 'pipeline', 'config', 'lib'],
  cli: [
    'eventhubs',
    'deliver',
    'state',
    'pipeline',
    'triage',
    'config',
    'alert',
    'detect',
    'normalize',
    'decode',
    'lib',
  ],
  docs: ['config', 'health', 'alert', 'normalize', 'lib'],
};

const root = resolve(__dirname, '..');
const src = join(root, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

function folderOf(file: string): string {
  return relative(src, file).split(sep)[0] ?? '';
}

/** Relative import specifiers, static and dynamic, of one file. */
function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'(\.{1,2}\/[^']+)'/g)) {
    if (m[1]) found.push(m[1]);
  }
  return found;
}

describe('architecture', () => {
  const files = sourceFiles(src);

  it('has no source file outside a layer folder', () => {
    expect(files.filter((f) => !(folderOf(f) in LAYERS)).map((f) => relative(root, f))).toEqual([]);
  });

  it('imports only downwards: every folder imports only what its layer allows', () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = folderOf(file);
      const allowed = new Set([from, ...(LAYERS[from] ?? [])]);
      for (const spec of relativeImports(file)) {
        const target = resolve(dirname(file), spec);
        const to = folderOf(target);
        if (!allowed.has(to)) violations.push(`${relative(root, file)} imports ${spec} (${from} → ${to})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('keeps the bottom layer free of Azure SDKs', () => {
    const lib = files.filter((f) => folderOf(f) === 'lib');
    const sdk = lib.filter((f) => readFileSync(f, 'utf8').includes("from '@azure/"));
    expect(sdk.map((f) => relative(root, f))).toEqual([]);
  });

  it('puts module prose in a file header, before the imports', () => {
    const missing = files.filter((f) => !/^\/[*/]/.test(readFileSync(f, 'utf8')));
    expect(missing.map((f) => relative(root, f))).toEqual([]);
  });

  it('is the layer table of the README', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| `src\/([a-z]+)\/` \| (.*) \| (.*) \|$/gm)].map((m) => {
      const mayImport = (m[3] ?? '').trim();
      return [
        m[1] ?? '',
        mayImport === 'nothing of ours'
          ? []
          : [...mayImport.matchAll(/`([a-z]+)`/g)].map((x) => x[1] ?? '').sort(),
      ] as const;
    });
    expect(Object.fromEntries(rows)).toEqual(
      Object.fromEntries(Object.entries(LAYERS).map(([k, v]) => [k, [...v].sort()])),
    );
  });
});
