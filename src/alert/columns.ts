/**
 * The alert table's contract, defined once. The Log Analytics table, the DCR stream declaration and the
 * README's column table are generated from this list (`npm run columns:generate`), and tests fail when they
 * drift. Names avoid the columns Log Analytics reserves (Title, TenantId, Type, id, _ResourceId, ...).
 */
export type ColumnType = 'string' | 'datetime' | 'dynamic' | 'int' | 'long' | 'real' | 'boolean';

export interface ColumnDefinition {
  readonly name: string;
  readonly type: ColumnType;
  readonly description: string;
  /** Rows written before the column existed (dead letters awaiting replay) read as this value. */
  readonly defaultWhenMissing?: string;
}

export const ALERT_COLUMNS = [
  { name: 'TimeGenerated', type: 'datetime', description: 'When the detector produced the alert (UTC).' },
  {
    name: 'EventTime',
    type: 'datetime',
    description: 'When Azure recorded the operation (the record `time`).',
  },
  {
    name: 'AlertId',
    type: 'string',
    description:
      'Deterministic id (SHA-256 of rule id and the record identity): a redelivered record yields the same id.',
  },
  { name: 'RuleId', type: 'string', description: 'Detection rule id.' },
  { name: 'RuleVersion', type: 'string', description: 'Version of the detection rule that fired.' },
  {
    name: 'AlertTitle',
    type: 'string',
    description: 'Alert title, `Azure Network Packet Capture Enabled in [<location>]`.',
  },
  { name: 'Severity', type: 'string', description: 'Informational, Low, Medium or High (Sentinel names).' },
  {
    name: 'Tactics',
    type: 'string',
    description: 'MITRE ATT&CK tactics, comma separated (CredentialAccess).',
  },
  { name: 'Techniques', type: 'string', description: 'MITRE ATT&CK techniques, comma separated (T1040).' },
  { name: 'OperationName', type: 'string', description: 'Azure operation, as logged.' },
  { name: 'ResultType', type: 'string', description: 'Operation result, as logged (Success, Succeeded).' },
  {
    name: 'CaptureKind',
    type: 'string',
    description:
      'NetworkWatcher, VirtualNetworkGateway, GatewayConnection, VpnGateway, VpnConnection, AzureFirewall, VirtualNetworkTap or NetworkInterfaceTap.',
  },
  { name: 'ResourceId', type: 'string', description: 'Azure resource the operation acted on.' },
  { name: 'SubscriptionId', type: 'string', description: 'Subscription of the resource.' },
  { name: 'ResourceGroup', type: 'string', description: 'Resource group of the resource.' },
  { name: 'ResourceName', type: 'string', description: 'Last segment of the resource id.' },
  {
    name: 'CaptureTarget',
    type: 'string',
    description: 'What is captured or mirrored, when the request body says (VM, NIC IP configuration, TAP).',
  },
  {
    name: 'CaptureStorage',
    type: 'string',
    description:
      'Where the capture is written, when the request body says (storage id, path or SAS-less URL).',
  },
  { name: 'Location', type: 'string', description: 'Azure region that processed the operation.' },
  { name: 'CallerIpAddress', type: 'string', description: 'IP address the operation came from.' },
  {
    name: 'Caller',
    type: 'string',
    description: 'Who did it: UPN, else application id, else object id, else the AzureActivity Caller.',
  },
  { name: 'CallerObjectId', type: 'string', description: 'Entra ID object id of the caller, when known.' },
  {
    name: 'CorrelationId',
    type: 'string',
    description: 'Correlation id shared by the records of one operation.',
  },
  { name: 'AadTenantId', type: 'string', description: 'Entra ID tenant of the record.' },
  { name: 'Category', type: 'string', description: 'Activity Log category (Administrative).' },
  {
    name: 'SourceFormat',
    type: 'string',
    description: 'DiagnosticExport (Event Hubs / blob archive) or AzureActivity (workspace table shape).',
  },
  { name: 'Runbook', type: 'string', description: 'Triage steps for the analyst.' },
  {
    name: 'Context',
    type: 'dynamic',
    description:
      "Panther's alert context: resource_id, caller_ip, operation_name, result_type, correlation_id, location, tenant_id, resource_group, storage_account_name, properties.",
  },
  {
    name: 'SmokeTestId',
    type: 'string',
    description:
      'Run id of the smoke test (`send --smoke-test`) whose record raised the row; empty for real alerts. The analytics rule skips marked rows.',
    defaultWhenMissing: '',
  },
] as const satisfies readonly ColumnDefinition[];

export type AlertColumnName = (typeof ALERT_COLUMNS)[number]['name'];

type TsType<T extends ColumnType> = T extends 'dynamic'
  ? Record<string, unknown>
  : T extends 'int' | 'long' | 'real'
    ? number
    : T extends 'boolean'
      ? boolean
      : string;

/** One row of the alert table; every column is always present (empty string when unknown). */
export type AlertRow = {
  [C in (typeof ALERT_COLUMNS)[number] as C['name']]: TsType<C['type']>;
};

/** Column names Log Analytics reserves; a custom table must not declare them. */
export const RESERVED_COLUMN_NAMES: readonly string[] = [
  'TenantId',
  'Type',
  'Title',
  'id',
  '_ResourceId',
  'UniqueId',
  '_SubscriptionId',
  'SourceSystem',
  'MG',
  'ManagementGroupName',
  'Computer',
  'RawData',
];

/** Default names; infra and settings use the same ones. */
export const ALERT_TABLE_NAME = 'PacketCaptureAlerts_CL';
export const ALERT_STREAM_NAME = 'Custom-PacketCaptureAlerts_CL';
