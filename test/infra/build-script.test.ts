/**
 * scripts/bicep-build.sh is what makes `npm run infra:check` fail on bad Bicep. These run it on small
 * temporary folders (one file each) with the repository's strict bicepconfig.json, and show that it fails on
 * a compile error, on a linter finding, on a warning that the Bicep CLI itself lets through with exit code 0,
 * on unformatted Bicep and on a broken parameters file. The runs go in parallel: each costs a Bicep start-up.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers/arm';

const SCRIPT = join(ROOT, 'scripts', 'bicep-build.sh');

interface BuildResult {
  readonly status: number | null;
  readonly output: string;
}

async function build(files: Record<string, string>, bicepconfig?: object): Promise<BuildResult> {
  const dir = mkdtempSync(join(tmpdir(), 'pcd-bicep-'));
  try {
    const infra = join(dir, 'infra');
    mkdirSync(infra);
    if (bicepconfig) writeFileSync(join(infra, 'bicepconfig.json'), JSON.stringify(bicepconfig));
    else copyFileSync(join(ROOT, 'infra', 'bicepconfig.json'), join(infra, 'bicepconfig.json'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(infra, name), text);
    return await new Promise<BuildResult>((resolve, reject) => {
      const child = spawn('bash', [SCRIPT], {
        env: { ...process.env, INFRA_DIR: infra, BICEP_OUT_DIR: join(dir, 'out') },
        timeout: 120_000,
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('error', reject);
      child.on('close', (status) => {
        resolve({ status, output });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const CLEAN = `@description('Region.')
param location string

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: 'id-check'
  location: location
}

@description('Client id.')
output clientId string = identity.properties.clientId
`;

const STORAGE_NAME_TOO_SHORT = [
  "@description('Region.')",
  'param location string',
  '',
  "resource st 'Microsoft.Storage/storageAccounts@2025-06-01' = {",
  "  name: 'ab'",
  '  location: location',
  "  kind: 'StorageV2'",
  '  sku: {',
  "    name: 'Standard_LRS'",
  '  }',
  '}',
  '',
].join('\n');

const SCENARIOS = {
  clean: () => build({ 'ok.bicep': CLEAN }),
  compileError: () => build({ 'broken.bicep': CLEAN.replace('location: location', 'location: nowhere') }),
  strictLint: () => build({ 'lint.bicep': `@description('Unused.')\nparam unused string\n\n${CLEAN}` }),
  lintWarning: () =>
    build(
      { 'warn.bicep': `var unused = 'x'\n\n${CLEAN}` },
      { analyzers: { core: { enabled: true, rules: { 'no-unused-vars': { level: 'warning' } } } } },
    ),
  compilerWarning: () => build({ 'short.bicep': STORAGE_NAME_TOO_SHORT }),
  unformatted: () =>
    build({ 'messy.bicep': CLEAN.replace('  location: location', '  location:    location') }),
  badParams: () =>
    build({ 'ok.bicep': CLEAN, 'ok.bicepparam': "using 'ok.bicep'\n\nparam locatoin = 'westeurope'\n" }),
};
type Scenario = keyof typeof SCENARIOS;
const results = {} as Record<Scenario, BuildResult>;

beforeAll(async () => {
  // The clean run first: on a fresh clone it installs the Bicep CLI, which the others then share.
  results.clean = await SCENARIOS.clean();
  const rest = (Object.keys(SCENARIOS) as Scenario[]).filter((s) => s !== 'clean');
  const done = await Promise.all(rest.map((s) => SCENARIOS[s]()));
  rest.forEach((s, i) => (results[s] = done[i]!));
}, 180_000);

describe('bicep-build.sh', () => {
  test('passes a clean file under the strict config', () => {
    expect(results.clean.output).toMatch(/^ok {3}ok\.bicep$/m);
    expect(results.clean.status).toBe(0);
  });

  test('fails on a compile error', () => {
    const result = results.compileError;
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/FAIL broken\.bicep/);
    expect(result.output).toMatch(/Error BCP057: The name "nowhere" does not exist/);
  });

  test('fails on a linter finding of the strict config (an unused parameter)', () => {
    expect(results.strictLint.status).not.toBe(0);
    expect(results.strictLint.output).toMatch(/FAIL lint\.bicep\n.*Error no-unused-params/);
  });

  test('fails on a linter warning even when a config makes the rule only a warning', () => {
    const result = results.lintWarning;
    expect(result.output).toMatch(/exit code of the Bicep CLI 0/);
    expect(result.output).toMatch(/Warning no-unused-vars/);
    expect(result.status).not.toBe(0);
  });

  test('fails on a compiler warning the Bicep CLI exits 0 for (a storage account name too short)', () => {
    const result = results.compilerWarning;
    expect(result.output).toMatch(/exit code of the Bicep CLI 0/);
    expect(result.output).toMatch(/Warning BCP333/);
    expect(result.status).not.toBe(0);
  });

  test('fails on a file not formatted as `bicep format` writes it', () => {
    expect(results.unformatted.output).toMatch(/FAIL messy\.bicep\n {4}messy\.bicep is not formatted/);
    expect(results.unformatted.status).not.toBe(0);
  });

  test('fails on a .bicepparam file that does not match its template', () => {
    expect(results.badParams.status).not.toBe(0);
    expect(results.badParams.output).toMatch(/FAIL ok\.bicepparam/);
  });
});
