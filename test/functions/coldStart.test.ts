import { spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { ENTRY_ENV, SDK_CLIENTS } from '../../bench/coldstart';

/**
 * Importing the function's entry must not load the Azure SDK clients: they cost cold-start time on every
 * new instance and are needed only once there is an alert to deliver. The entry is compiled from the
 * current sources (one file at a time, as tsc would emit it) and imported in a fresh Node process.
 */

const root = join(__dirname, '../..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('function entry cold start', () => {
  let out: string;

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'pcd-cold-'));
    for (const file of tsFiles(join(root, 'src'))) {
      const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
        fileName: file,
        compilerOptions: {
          module: ts.ModuleKind.CommonJS,
          target: ts.ScriptTarget.ES2022,
          esModuleInterop: true,
        },
      });
      const target = join(out, relative(root, file)).replace(/\.ts$/, '.js');
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, outputText);
    }
    symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'), 'dir');
  });

  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it('loads no Azure SDK client until the first alert is delivered', () => {
    const entry = join(out, 'src/functions/packetCaptureDetector.js');
    const probe = `require(${JSON.stringify(entry)});
      process.stdout.write(JSON.stringify(Object.keys(require.cache)));`;
    const result = spawnSync(process.execPath, ['-e', probe], {
      env: { PATH: process.env.PATH, ...ENTRY_ENV },
      encoding: 'utf8',
    });
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.status).toBe(0);
    const loaded = JSON.parse(result.stdout) as string[];
    // The import did happen: the entry, the handler and @azure/functions are loaded...
    expect(loaded).toContain(entry);
    expect(loaded.some((m) => m.includes('/node_modules/@azure/functions/'))).toBe(true);
    // ...and no SDK client is.
    for (const client of SDK_CLIENTS) {
      expect(loaded.filter((m) => m.includes(`/node_modules/${client}/`))).toEqual([]);
    }
  });
});
