/**
 * Table schemas the KQL is bound against. The alert table comes from the code's ALERT_COLUMNS; AzureActivity
 * is written from Microsoft's table reference ("Azure Monitor Logs reference - AzureActivity",
 * learn.microsoft.com/azure/azure-monitor/reference/tables/azureactivity), standard columns included;
 * SecurityAlert from Microsoft Sentinel's security alert schema reference
 * (learn.microsoft.com/azure/sentinel/security-alert-schema).
 */
import { ALERT_COLUMNS, ALERT_TABLE_NAME, type ColumnType } from '../../../src/alert/columns';
import { HEALTH_COLUMNS, HEALTH_TABLE_NAME } from '../../../src/health/columns';
import type { KustoType, TableSchema } from './kusto';

const KUSTO_TYPE: Record<ColumnType, KustoType> = {
  string: 'string',
  datetime: 'datetime',
  dynamic: 'dynamic',
  int: 'int',
  long: 'long',
  real: 'real',
  boolean: 'bool',
};

/** Columns Log Analytics adds to every table (queryable, never declared). */
const STANDARD_COLUMNS: TableSchema['columns'] = [
  { name: 'Type', type: 'string' },
  { name: 'TenantId', type: 'string' },
  { name: '_ResourceId', type: 'string' },
  { name: '_SubscriptionId', type: 'string' },
  { name: '_ItemId', type: 'string' },
  { name: '_TimeReceived', type: 'datetime' },
  { name: '_IsBillable', type: 'string' },
  { name: '_BilledSize', type: 'real' },
];

export function alertTable(
  columns: readonly { name: string; type: ColumnType }[] = ALERT_COLUMNS,
): TableSchema {
  return {
    name: ALERT_TABLE_NAME,
    columns: [...columns.map((c) => ({ name: c.name, type: KUSTO_TYPE[c.type] })), ...STANDARD_COLUMNS],
  };
}

/** The health table, from the code's HEALTH_COLUMNS. */
export function healthTable(
  columns: readonly { name: string; type: ColumnType }[] = HEALTH_COLUMNS,
): TableSchema {
  return {
    name: HEALTH_TABLE_NAME,
    columns: [...columns.map((c) => ({ name: c.name, type: KUSTO_TYPE[c.type] })), ...STANDARD_COLUMNS],
  };
}

/**
 * Application Insights `traces` and `exceptions`, as queried on the component (the classic column names;
 * the workspace tables AppTraces and AppExceptions hold the same under other names): "Azure Monitor Logs
 * reference - AppTraces / AppExceptions" (learn.microsoft.com/azure/azure-monitor/reference/tables/apptraces,
 * .../appexceptions) and the classic-to-workspace column mapping of "Migrate to workspace-based Application
 * Insights resources" (learn.microsoft.com/azure/azure-monitor/app/convert-classic-resource).
 */
const APP_COMMON: TableSchema['columns'] = [
  { name: 'timestamp', type: 'datetime' },
  { name: 'severityLevel', type: 'int' },
  { name: 'itemType', type: 'string' },
  { name: 'customDimensions', type: 'dynamic' },
  { name: 'customMeasurements', type: 'dynamic' },
  { name: 'operation_Name', type: 'string' },
  { name: 'operation_Id', type: 'string' },
  { name: 'operation_ParentId', type: 'string' },
  { name: 'operation_SyntheticSource', type: 'string' },
  { name: 'session_Id', type: 'string' },
  { name: 'user_Id', type: 'string' },
  { name: 'user_AuthenticatedId', type: 'string' },
  { name: 'user_AccountId', type: 'string' },
  { name: 'application_Version', type: 'string' },
  { name: 'client_Type', type: 'string' },
  { name: 'client_Model', type: 'string' },
  { name: 'client_OS', type: 'string' },
  { name: 'client_IP', type: 'string' },
  { name: 'client_City', type: 'string' },
  { name: 'client_StateOrProvince', type: 'string' },
  { name: 'client_CountryOrRegion', type: 'string' },
  { name: 'client_Browser', type: 'string' },
  { name: 'cloud_RoleName', type: 'string' },
  { name: 'cloud_RoleInstance', type: 'string' },
  { name: 'appId', type: 'string' },
  { name: 'appName', type: 'string' },
  { name: 'iKey', type: 'string' },
  { name: 'sdkVersion', type: 'string' },
  { name: 'itemId', type: 'string' },
  { name: 'itemCount', type: 'int' },
  { name: '_ResourceId', type: 'string' },
];

export const TRACES: TableSchema = {
  name: 'traces',
  columns: [{ name: 'message', type: 'string' }, ...APP_COMMON],
};

export const EXCEPTIONS: TableSchema = {
  name: 'exceptions',
  columns: [
    { name: 'problemId', type: 'string' },
    { name: 'handledAt', type: 'string' },
    { name: 'type', type: 'string' },
    { name: 'message', type: 'string' },
    { name: 'assembly', type: 'string' },
    { name: 'method', type: 'string' },
    { name: 'outerType', type: 'string' },
    { name: 'outerMessage', type: 'string' },
    { name: 'outerAssembly', type: 'string' },
    { name: 'outerMethod', type: 'string' },
    { name: 'innermostType', type: 'string' },
    { name: 'innermostMessage', type: 'string' },
    { name: 'innermostAssembly', type: 'string' },
    { name: 'innermostMethod', type: 'string' },
    { name: 'details', type: 'dynamic' },
    ...APP_COMMON,
  ],
};

/** The DCR transform's input: the stream declaration's columns, as a table named `source`. */
export function transformSource(columns: readonly { name: string; type: string }[]): TableSchema {
  return {
    name: 'source',
    columns: columns.map((c) => {
      const type = c.type === 'boolean' ? 'bool' : c.type;
      return { name: c.name, type: type as KustoType };
    }),
  };
}

export const AZURE_ACTIVITY: TableSchema = {
  name: 'AzureActivity',
  columns: [
    { name: 'ActivityStatus', type: 'string' },
    { name: 'ActivityStatusValue', type: 'string' },
    { name: 'ActivitySubstatus', type: 'string' },
    { name: 'ActivitySubstatusValue', type: 'string' },
    { name: 'Authorization', type: 'string' },
    { name: 'Authorization_d', type: 'dynamic' },
    { name: '_BilledSize', type: 'real' },
    { name: 'Caller', type: 'string' },
    { name: 'CallerIpAddress', type: 'string' },
    { name: 'Category', type: 'string' },
    { name: 'CategoryValue', type: 'string' },
    { name: 'Claims', type: 'string' },
    { name: 'Claims_d', type: 'dynamic' },
    { name: 'CorrelationId', type: 'string' },
    { name: 'EventDataId', type: 'string' },
    { name: 'EventSubmissionTimestamp', type: 'datetime' },
    { name: 'Hierarchy', type: 'string' },
    { name: 'HTTPRequest', type: 'string' },
    { name: '_IsBillable', type: 'string' },
    { name: 'Level', type: 'string' },
    { name: 'OperationId', type: 'string' },
    { name: 'OperationName', type: 'string' },
    { name: 'OperationNameValue', type: 'string' },
    { name: 'Properties', type: 'string' },
    { name: 'Properties_d', type: 'dynamic' },
    { name: 'Resource', type: 'string' },
    { name: 'ResourceGroup', type: 'string' },
    { name: 'ResourceId', type: 'string' },
    { name: '_ResourceId', type: 'string' },
    { name: 'ResourceProvider', type: 'string' },
    { name: 'ResourceProviderValue', type: 'string' },
    { name: 'SourceSystem', type: 'string' },
    { name: 'SubscriptionId', type: 'string' },
    { name: '_SubscriptionId', type: 'string' },
    { name: 'TenantId', type: 'string' },
    { name: 'TimeGenerated', type: 'datetime' },
    { name: 'Type', type: 'string' },
  ],
};

export const SECURITY_ALERT: TableSchema = {
  name: 'SecurityAlert',
  columns: [
    { name: 'AlertLink', type: 'string' },
    { name: 'AlertName', type: 'string' },
    { name: 'AlertSeverity', type: 'string' },
    { name: 'AlertType', type: 'string' },
    { name: 'CompromisedEntity', type: 'string' },
    { name: 'ConfidenceLevel', type: 'string' },
    { name: 'ConfidenceScore', type: 'real' },
    { name: 'Description', type: 'string' },
    { name: 'DisplayName', type: 'string' },
    { name: 'EndTime', type: 'datetime' },
    { name: 'Entities', type: 'string' },
    { name: 'ExtendedLinks', type: 'string' },
    { name: 'ExtendedProperties', type: 'string' },
    { name: 'IsIncident', type: 'bool' },
    { name: 'ProcessingEndTime', type: 'datetime' },
    { name: 'ProductComponentName', type: 'string' },
    { name: 'ProductName', type: 'string' },
    { name: 'ProviderName', type: 'string' },
    { name: 'RemediationSteps', type: 'string' },
    { name: 'ResourceId', type: 'string' },
    { name: 'SourceComputerId', type: 'string' },
    { name: 'SourceSystem', type: 'string' },
    { name: 'StartTime', type: 'datetime' },
    { name: 'Status', type: 'string' },
    { name: 'SystemAlertId', type: 'string' },
    { name: 'Tactics', type: 'string' },
    { name: 'Techniques', type: 'string' },
    { name: 'TenantId', type: 'string' },
    { name: 'TimeGenerated', type: 'datetime' },
    { name: 'Type', type: 'string' },
    { name: 'VendorName', type: 'string' },
    { name: 'VendorOriginalId', type: 'string' },
    { name: 'WorkspaceResourceGroup', type: 'string' },
    { name: 'WorkspaceSubscriptionId', type: 'string' },
    { name: '_ResourceId', type: 'string' },
    { name: '_SubscriptionId', type: 'string' },
  ],
};
