/**
 * Table schemas the KQL is bound against. The alert table comes from the code's ALERT_COLUMNS; AzureActivity
 * is written from Microsoft's table reference ("Azure Monitor Logs reference - AzureActivity",
 * learn.microsoft.com/azure/azure-monitor/reference/tables/azureactivity), standard columns included;
 * SecurityAlert from Microsoft Sentinel's security alert schema reference
 * (learn.microsoft.com/azure/sentinel/security-alert-schema).
 */
import { ALERT_COLUMNS, ALERT_TABLE_NAME, type ColumnType } from '../../../src/alert/columns';
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
