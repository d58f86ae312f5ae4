import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';
import { ENTRY_ENV, probeImport } from '../../bench/coldstart';
import { bundleFunction, FUNCTION_BUNDLE, LAZY_SDK_CLIENTS } from '../../scripts/bundle-function';

/**
 * What the Functions host loads is package.json `main`: one bundle of the entry, built here from the current
 * sources exactly as `npm run build` builds it. Importing it must not load an Azure SDK client (each costs
 * cold-start time on every new instance and is needed only once there is an alert to deliver), and must not
 * read any other file: zod and @azure/functions are inside it, tree-shaken.
 */

const root = join(__dirname, '../..');

describe('function bundle and cold start', () => {
  let out: string;
  let bundle: string;
  let metafile: Metafile;

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'pcd-cold-'));
    // Externals resolve from the bundle's directory up, as they do from dist/function in the app.
    symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'), 'dir');
    ({ outfile: bundle, metafile } = await bundleFunction(
      root,
      join(out, 'function/packetCaptureDetector.js'),
    ));
  });

  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it('is what the host loads: package.json main', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string };
    expect(pkg.main).toBe(FUNCTION_BUNDLE);
    // ...and the deployment package keeps it (and its source map).
    const ignored = readFileSync(join(root, '.funcignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim().replace(/\/$/, '').replace(/^\//, ''))
      .filter((l) => l !== '' && !l.startsWith('#'));
    const kept = [FUNCTION_BUNDLE, `${FUNCTION_BUNDLE}.map`, 'host.json', 'package.json'];
    for (const file of kept) {
      expect(ignored.filter((p) => file === p || file.startsWith(`${p}/`))).toEqual([]);
    }
  });

  it('loads no Azure SDK client and no other file when imported', () => {
    const probe = probeImport(bundle);
    expect(probe.sdkClientsLoaded).toEqual([]);
    expect(probe.files).toBe(1);
  });

  it('keeps the SDK clients out and carries only the zod it uses', () => {
    // Files esbuild read but shook out entirely are listed with 0 bytes in the output.
    const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined);
    const inputs = Object.entries(output?.inputs ?? {})
      .filter(([, i]) => i.bytesInOutput > 0)
      .map(([name]) => name);
    expect(inputs.length).toBeGreaterThan(0);
    for (const client of LAZY_SDK_CLIENTS) {
      expect(inputs.filter((i) => i.includes(`node_modules/${client}/`))).toEqual([]);
    }
    // zod classic (`import … from 'zod'`) would bring every schema; other locales than English are unused.
    expect(inputs.filter((i) => i.includes('node_modules/zod/v4/classic/'))).toEqual([]);
    const locales = inputs.filter((i) => /node_modules\/zod\/v4\/locales\/(?!index)/.test(i));
    expect(locales.map((l) => l.replace(/.*\//, ''))).toEqual(['en.js']);
  });

  it('registers the trigger and runs a batch through its handler', async () => {
    // In-process this time, with the settings of a Development host (alerts to stdout).
    const saved = { ...process.env };
    Object.assign(process.env, ENTRY_ENV, { AZURE_FUNCTIONS_ENVIRONMENT: 'Development' });
    delete process.env.LOGS_INGESTION_ENDPOINT;
    delete process.env.LOGS_INGESTION_RULE_ID;
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const written: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const mod = jest.requireActual<{
        packetCaptureDetectorOptions: {
          cardinality: string;
          dataType: string;
          handler: (messages: unknown, context: unknown) => Promise<void>;
        };
      }>(bundle);
      const o = mod.packetCaptureDetectorOptions;
      expect(o).toMatchObject({ cardinality: 'many', dataType: 'binary' });
      const body = readFileSync(join(root, 'samples/capture-operations.eventhub.json'));
      const logs: string[] = [];
      const log = (...args: unknown[]) => logs.push(args.join(' '));
      await o.handler([body], {
        invocationId: 'bundle-test',
        triggerMetadata: {},
        info: log,
        warn: log,
        error: log,
      });
      const alerts = written
        .join('')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { RuleId: string; OperationName: string });
      expect(alerts.length).toBe(8);
      expect(new Set(alerts.map((a) => a.RuleId))).toEqual(
        new Set(['Azure.MonitorActivity.Network.PacketCaptureEnabled']),
      );
      expect(logs.join('\n')).toMatch(/batch processed .*"alerts":8/);
    } finally {
      write.mockRestore();
      warn.mockRestore();
      process.env = saved;
    }
  });
});
