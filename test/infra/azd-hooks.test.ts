import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from './helpers/arm';

/**
 * The azd postprovision hook that keeps a fresh environment's first code deployment from racing its new storage
 * role assignments (Azure/azure-dev#8026): it waits until ROLE_PROPAGATION_SECONDS have passed since
 * DEPLOYMENT_STORAGE_ROLE_ASSIGNED_AT (a main.bicep output), and not at all on a redeployment. The PowerShell
 * twin for Windows is not run here (no pwsh on this machine).
 */

const HOOK = join(ROOT, 'scripts', 'wait-for-role-propagation.sh');

function runHook(env: Record<string, string>): {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
} {
  const started = Date.now();
  const r = spawnSync('sh', [HOOK], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
}

const now = () => Math.floor(Date.now() / 1000);

describe('azd postprovision hook: wait for new role assignments', () => {
  test('azure.yaml runs it after provisioning, on POSIX and Windows', () => {
    const yaml = parse(readFileSync(join(ROOT, 'azure.yaml'), 'utf8')) as {
      hooks?: { postprovision?: Record<string, { shell: string; run: string }> };
    };
    expect(yaml.hooks?.postprovision).toEqual({
      posix: { shell: 'sh', run: './scripts/wait-for-role-propagation.sh' },
      windows: { shell: 'pwsh', run: './scripts/wait-for-role-propagation.ps1' },
    });
    // The output it reads is main.bicep's.
    const main = JSON.parse(readFileSync(join(ROOT, '.bicep', 'out', 'main.json'), 'utf8')) as {
      outputs: Record<string, unknown>;
    };
    expect(Object.keys(main.outputs)).toContain('DEPLOYMENT_STORAGE_ROLE_ASSIGNED_AT');
    expect(readFileSync(join(ROOT, 'scripts', 'wait-for-role-propagation.ps1'), 'utf8')).toContain(
      'DEPLOYMENT_STORAGE_ROLE_ASSIGNED_AT',
    );
  });

  test('just assigned: waits out the rest of the window', () => {
    const r = runHook({ DEPLOYMENT_STORAGE_ROLE_ASSIGNED_AT: String(now()), ROLE_PROPAGATION_SECONDS: '2' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/waiting [12] s for them to apply/);
    expect(r.ms).toBeGreaterThanOrEqual(900);
  });

  test('assigned long ago (a redeployment): no wait', () => {
    const r = runHook({ DEPLOYMENT_STORAGE_ROLE_ASSIGNED_AT: String(now() - 3600) });
    expect(r).toMatchObject({ status: 0, stdout: '', stderr: '' });
  });

  test('a clock behind Azure never waits longer than the window', () => {
    const r = runHook({
      DEPLOYMENT_STORAGE_ROLE_ASSIGNED_AT: String(now() + 3600),
      ROLE_PROPAGATION_SECONDS: '1',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/waiting 1 s/);
  });

  test('no output (azd provision of an older template) or a bad value: says so, does not wait, does not fail', () => {
    expect(runHook({})).toMatchObject({ status: 0, stdout: '' });
    const bad = runHook({ DEPLOYMENT_STORAGE_ROLE_ASSIGNED_AT: 'soon' });
    expect(bad.status).toBe(0);
    expect(bad.stderr).toMatch(/not a number/);
  });

  test('a bad window is a usage error', () => {
    const r = runHook({ DEPLOYMENT_STORAGE_ROLE_ASSIGNED_AT: String(now()), ROLE_PROPAGATION_SECONDS: '5m' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/whole number of seconds/);
  });
});
