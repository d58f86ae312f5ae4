/**
 * Runs the Bicep CLI the way scripts/bicep-build.sh finds it ($BICEP, .bicep/bin/bicep, `bicep` on PATH, then
 * `az bicep`), for tests that must compile something themselves, e.g. a parameters file under different
 * environment variables.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './arm';

function bicepCommand(): string[] {
  if (process.env.BICEP) return [process.env.BICEP];
  const local = join(ROOT, '.bicep', 'bin', 'bicep');
  if (existsSync(local)) return [local];
  if (spawnSync('bicep', ['--version']).status === 0) return ['bicep'];
  return ['az', 'bicep'];
}

/** The parameters a .bicepparam file yields with the given environment variables (readEnvironmentVariable). */
export function buildParams(file: string, env: Readonly<Record<string, string>>): Record<string, unknown> {
  const [command, ...prefix] = bicepCommand();
  if (command === undefined) throw new Error('no Bicep CLI');
  const fileArgs = command === 'az' ? ['--file', file] : [file];
  const result = spawnSync(command, [...prefix, 'build-params', ...fileArgs, '--stdout'], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  if (result.status !== 0) throw new Error(`bicep build-params ${file} failed: ${result.stderr}`);
  const out = JSON.parse(result.stdout) as { parametersJson: string };
  const parsed = JSON.parse(out.parametersJson) as { parameters: Record<string, { value: unknown }> };
  return Object.fromEntries(Object.entries(parsed.parameters).map(([k, v]) => [k, v.value]));
}
