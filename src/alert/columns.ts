/*
 * The alert table's contract, defined once. The Log Analytics table, the DCR stream declaration and the
 * README's column table are generated from this list (`npm run columns:generate`), and tests fail when they
 * drift. Names avoid the columns Log Analytics reserves (Title, TenantId, Type, id, _ResourceId, ...).
 */
export type ColumnType = 'string' | 'datetime' | 'dynamic' | 'int' | 'long' | 'real' | 'boolean';

export interface ColumnDefinition {
  readonly name: string;
  readonly type: ColumnType;
  readonly description: string;
  /**
   * Filled from a finding's `attributes` by the rules that name it in `attributeColumns` (empty for the
   * others), rather than from the event every rule sees.
   */
  readonly ruleAttribute?: true;
  /** Rows written before the column existed (dead letters awaiting replay) read as this value. */
  readonly defaultWhenMissing?: string | number | boolean;
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
    description:
      "Alert title, the rule's own: `Azure Network Packet Capture Enabled in [<location>]` for captures.",
  },
  {
    name: 'AlertSummary',
    type: 'string',
    description:
      'What is captured and where it goes, in one line (the Sentinel alert name), e.g. `Network Watcher packet capture of vmss-api to storage account stcapturesink in another subscription (…)`.',
    defaultWhenMissing: '',
  },
  {
    name: 'Severity',
    type: 'string',
    description:
      "Informational, Low, Medium or High (Sentinel names), from the evidence: the rule's severity rationale (README › The detection).",
  },
  {
    name: 'SeverityReason',
    type: 'string',
    description:
      "Why the row has its severity, in words (for a capture: where its traffic goes and whether that is outside the captured resource's subscription).",
    defaultWhenMissing: 'Not recorded: the row was written before the detector gave its severity reasons.',
  },
  {
    name: 'Tactics',
    type: 'string',
    description:
      'MITRE ATT&CK tactics, comma separated (CredentialAccess; DefenseEvasion for integrity rules).',
  },
  {
    name: 'Techniques',
    type: 'string',
    description:
      'MITRE ATT&CK techniques, comma separated (T1040; T1562.008 and others for integrity rules).',
  },
  { name: 'OperationName', type: 'string', description: 'Azure operation, as logged.' },
  { name: 'ResultType', type: 'string', description: 'Operation result, as logged (Success, Succeeded).' },
  {
    name: 'CaptureKind',
    type: 'string',
    description:
      'NetworkWatcher, VirtualNetworkGateway, GatewayConnection, VpnGateway, VpnConnection, AzureFirewall, VirtualNetworkTap or NetworkInterfaceTap.',
    ruleAttribute: true,
  },
  { name: 'ResourceId', type: 'string', description: 'Azure resource the operation acted on.' },
  { name: 'SubscriptionId', type: 'string', description: 'Subscription of the resource.' },
  { name: 'ResourceGroup', type: 'string', description: 'Resource group of the resource.' },
  { name: 'ResourceName', type: 'string', description: 'Last segment of the resource id.' },
  {
    name: 'CaptureTarget',
    type: 'string',
    description: 'What is captured or mirrored, when the request body says (VM, NIC IP configuration, TAP).',
    ruleAttribute: true,
  },
  {
    name: 'CaptureStorage',
    type: 'string',
    description:
      'Where the capture is written, when the request body says (storage id, path or SAS-less URL).',
    ruleAttribute: true,
  },
  {
    name: 'Location',
    type: 'string',
    description:
      "Azure region of the operation: the record's own, else a request or response body's, else the resource's (a Network Watcher's region); empty when nothing says.",
  },
  {
    name: 'LocationSource',
    type: 'string',
    description: 'Where `Location` came from: record, requestBody, responseBody, resource or unknown.',
    defaultWhenMissing: '',
  },
  { name: 'CallerIpAddress', type: 'string', description: 'IP address the operation came from.' },
  {
    name: 'Caller',
    type: 'string',
    description:
      "Who did it: a user's UPN, else their name claim (`unique_name`, the identity/claims/name claim), else the object id; an application's app id; else the shape's own caller field.",
  },
  {
    name: 'CallerKind',
    type: 'string',
    description: 'User, Guest, ServicePrincipal, ManagedIdentity or Unknown (from the token claims).',
    defaultWhenMissing: '',
  },
  { name: 'CallerObjectId', type: 'string', description: 'Entra ID object id of the caller, when known.' },
  {
    name: 'CallerAppId',
    type: 'string',
    description: 'Application (client) id the caller signed in with; the identity of a service principal.',
    defaultWhenMissing: '',
  },
  {
    name: 'CallerPriorCaptures',
    type: 'int',
    description:
      'Runbook step 3 at detection time: capture or mirror operations (findings of the same rule) the same principal (by Caller or object id, never the client app id) started in the 90 days before this one, as the detector recorded them (allowlisted ones included); -1 when unknown (no caller, no history store, or it failed).',
    defaultWhenMissing: -1,
  },
  {
    name: 'CallerIpPriorCaptures',
    type: 'int',
    description:
      'The same for the caller IP address: captures started from it in the 90 days before this one; -1 when unknown (no IP, or no history).',
    defaultWhenMissing: -1,
  },
  {
    name: 'CallerLastPriorCapture',
    type: 'datetime',
    description:
      "When the principal's latest capture before this one started (EventTime), within those 90 days; empty when none or unknown.",
    defaultWhenMissing: '',
  },
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
    description:
      'DiagnosticExport (Event Hubs / blob archive), Rest (Activity Log REST API, az CLI, PowerShell, portal download) or AzureActivity (workspace table shape).',
  },
  {
    name: 'OperationRecords',
    type: 'string',
    description:
      "The operation's records (sharing its correlation id) the row was built from: `Success` alone, or with `Start` (request body) and `Accept` (response body).",
    defaultWhenMissing: '',
  },
  {
    name: 'AlertRevision',
    type: 'int',
    description:
      "How many of the operation's records the row was built from (1-3): a completing row, same AlertId, follows when a later Start or Accept record adds details; 10 when a later record showed it was no finding (then Suppressed). The row with the highest revision is the alert's current state.",
    defaultWhenMissing: 1,
  },
  {
    name: 'Suppressed',
    type: 'boolean',
    description:
      'True when the row is kept for audit but must raise no incident; `SuppressionReason` says why.',
    defaultWhenMissing: false,
  },
  {
    name: 'SuppressionReason',
    type: 'string',
    description: 'Why the row is suppressed (empty otherwise).',
    defaultWhenMissing: '',
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
  {
    name: 'IntegrityTarget',
    type: 'string',
    description:
      'Integrity rules: the part of the pipeline acted on (ActivityLogExport, NamespaceAuthorizationRule, EventHub, FunctionApp, DataCollectionRule, WorkspaceTable, Workspace, AnalyticsRule, Storage, ...); empty for captures.',
    ruleAttribute: true,
    defaultWhenMissing: '',
  },
  {
    name: 'IntegrityChange',
    type: 'string',
    description:
      'Integrity rules: what the operation did (Deleted, Written, Stopped, KeysListed, KeysRegenerated, DataPurged, ...); empty for captures.',
    ruleAttribute: true,
    defaultWhenMissing: '',
  },
  {
    name: 'ProtectedScope',
    type: 'string',
    description:
      'Integrity rules: the PROTECTED_RESOURCE_IDS entry the resource lies in (empty for the subscription Activity Log export, which is always watched).',
    ruleAttribute: true,
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

export type RuleAttributeColumnName = Extract<
  (typeof ALERT_COLUMNS)[number],
  { ruleAttribute: true }
>['name'];

/** Columns a rule fills from its findings (`ruleAttribute`), by name. */
export const RULE_ATTRIBUTE_COLUMNS = ALERT_COLUMNS.filter(
  (c: ColumnDefinition) => c.ruleAttribute === true,
).map((c) => c.name) as readonly RuleAttributeColumnName[];

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
export const ALERT_STREAM_NAME = `Custom-${ALERT_TABLE_NAME}`;
