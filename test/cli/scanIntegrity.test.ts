import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type { AlertRow } from '../../src/alert/columns';
import type { CliIo } from '../../src/cli/io';
import { main } from '../../src/cli/main';

/**
 * `scan` evaluates the integrity rules with the deployment's protected scope (PROTECTED_RESOURCE_IDS), as the
 * Function and `consume` do: a backfill over the archive finds the export hub's keys listed in the past.
 */
const SUB = '00000000-0000-0000-0000-0000000000bb';
const RG = `/subscriptions/${SUB}/resourceGroups/rg-pcd-prod`;

function record(operationName: string, resourceId: string, correlationId: string): Record<string, unknown> {
  return {
    time: '2026-03-02T08:15:00.0000000Z',
    resourceId: resourceId.toUpperCase(),
    operationName: operationName.toUpperCase(),
    category: 'Administrative',
    resultType: 'Success',
    resultSignature: 'Succeeded.OK',
    callerIpAddress: '198.51.100.40',
    correlationId,
    identity: {
      claims: { 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn': 'eve@contoso.example' },
    },
    properties: { statusCode: 'OK' },
  };
}

const HUB_KEYS = record(
  'Microsoft.EventHub/namespaces/authorizationRules/listkeys/action',
  `${RG}/providers/Microsoft.EventHub/namespaces/evhns-pcd-prod/authorizationRules/RootManageSharedAccessKey`,
  '11111111-0000-4000-8000-000000000001',
);
const OTHER_HUB_KEYS = record(
  'Microsoft.EventHub/namespaces/authorizationRules/listkeys/action',
  `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.EventHub/namespaces/evhns-app/authorizationRules/send`,
  '11111111-0000-4000-8000-000000000002',
);
const EXPORT_DELETED = record(
  'Microsoft.Insights/diagnosticSettings/delete',
  `/subscriptions/${SUB}/providers/microsoft.insights/diagnosticSettings/activity-log-export`,
  '11111111-0000-4000-8000-000000000003',
);

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function archive(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pcd-scan-integrity-'));
  made.push(dir);
  writeFileSync(
    join(dir, 'PT1H.json'),
    [HUB_KEYS, OTHER_HUB_KEYS, EXPORT_DELETED].map((r) => JSON.stringify(r)).join('\n'),
  );
  return dir;
}

async function scan(dir: string, env: NodeJS.ProcessEnv): Promise<{ code: number; rows: AlertRow[] }> {
  const stdout = Object.assign(new PassThrough(), { isTTY: false });
  const chunks: Buffer[] = [];
  stdout.on('data', (c: Buffer) => chunks.push(c));
  const io: CliIo = { stdout, stderr: new PassThrough(), stdin: Readable.from(['']), env };
  const code = await main(['scan', '--format', 'jsonl', dir], io);
  const rows = Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AlertRow);
  return { code, rows };
}

const ruleAndResource = (rows: AlertRow[]) =>
  rows.map((r) => [r.RuleId.split('.').pop(), r.ResourceId.toLowerCase()]).sort();

describe('scan and the integrity rules', () => {
  it("alerts on the protected hub and the subscription export; not on another group's hub", async () => {
    const { code, rows } = await scan(archive(), { PROTECTED_RESOURCE_IDS: RG });
    expect(code).toBe(0);
    expect(ruleAndResource(rows)).toEqual(
      [
        ['ActivityLogExportChanged', String(EXPORT_DELETED.resourceId).toLowerCase()],
        ['ExportHubTampered', String(HUB_KEYS.resourceId).toLowerCase()],
      ].sort(),
    );
  });

  it('without PROTECTED_RESOURCE_IDS watches only the subscription export', async () => {
    const { code, rows } = await scan(archive(), {});
    expect(code).toBe(0);
    expect(ruleAndResource(rows)).toEqual([
      ['ActivityLogExportChanged', String(EXPORT_DELETED.resourceId).toLowerCase()],
    ]);
  });
});
