import { createHash } from 'node:crypto';
import { ALERT_COLUMNS, type AlertRow } from '../../src/alert/columns';

/** A complete alert row (every column of the contract) with a deterministic AlertId per `n`. */
export function sampleAlert(n: number, overrides: Partial<AlertRow> = {}): AlertRow {
  const id = createHash('sha256').update(`sample-${n}`).digest('hex');
  const row: Record<string, unknown> = {};
  for (const c of ALERT_COLUMNS) {
    row[c.name] =
      c.type === 'dynamic'
        ? {}
        : c.type === 'datetime'
          ? '2025-01-31T13:45:01.123Z'
          : c.type === 'boolean'
            ? false
            : c.type === 'int'
              ? 1
              : '';
  }
  const sub = '11111111-2222-3333-4444-555555555555';
  Object.assign(row, {
    AlertId: id,
    RuleId: 'Azure.MonitorActivity.NetworkPacketCaptureEnabled',
    RuleVersion: '1',
    AlertTitle: 'Azure Network Packet Capture Enabled in [westeurope]',
    Severity: 'Medium',
    Tactics: 'CredentialAccess',
    Techniques: 'T1040',
    OperationName: 'MICROSOFT.NETWORK/NETWORKWATCHERS/PACKETCAPTURES/WRITE',
    ResultType: 'Success',
    CaptureKind: 'NetworkWatcher',
    ResourceId: `/subscriptions/${sub}/resourceGroups/rg-${n}/providers/Microsoft.Network/networkWatchers/nw/packetCaptures/pc-${n}`,
    SubscriptionId: sub,
    ResourceGroup: `rg-${n}`,
    ResourceName: `pc-${n}`,
    Location: 'westeurope',
    CallerIpAddress: '203.0.113.7',
    Caller: 'attacker@contoso.example',
    CorrelationId: `corr-${n}`,
    Category: 'Administrative',
    SourceFormat: 'DiagnosticExport',
    Runbook: 'Check who started the capture and where it is written.',
    Context: {
      resource_id: `/subscriptions/${sub}/resourceGroups/rg-${n}`,
      caller_ip: '203.0.113.7',
      operation_name: 'MICROSOFT.NETWORK/NETWORKWATCHERS/PACKETCAPTURES/WRITE',
      result_type: 'Success',
      correlation_id: `corr-${n}`,
      location: 'westeurope',
    },
  });
  return { ...(row as AlertRow), ...overrides };
}

export function sampleAlerts(count: number, offset = 0): AlertRow[] {
  return Array.from({ length: count }, (_, i) => sampleAlert(offset + i));
}
