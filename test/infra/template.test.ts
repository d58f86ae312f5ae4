import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ALERT_STREAM_NAME } from '../../src/alert/columns';
import { loadSettings, SETTINGS } from '../../src/config/settings';
import { ALLOWLIST_COLUMNS, SHIPPED_ALLOWLIST_FILE } from '../../src/triage/allowlist';
import {
  allResources,
  evaluate,
  instances,
  isExpression,
  loadCompiled,
  onlyResourceOfType,
  onlyResourceOfTypeIn,
  resolved,
  resourcesOfType,
  ROOT,
  text,
  type Json,
  type JsonObject,
} from './helpers/arm';

const main = loadCompiled('main.json');
const roleModule = loadCompiled('modules/role-assignments.json');

// Built-in role definition ids (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
const ROLE: Readonly<Record<string, string | undefined>> = {
  'a638d3c7-ab3a-418d-83e6-5f17a39d4fde': 'Azure Event Hubs Data Receiver',
  '2b629674-e913-4c01-ae53-ef4638d8f975': 'Azure Event Hubs Data Sender',
  '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher',
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor',
};

describe('compiled template', () => {
  test('contains every resource of the pipeline', () => {
    const types = allResources(main).map((r) => r.type);
    for (const type of [
      'Microsoft.Resources/resourceGroups',
      'Microsoft.EventHub/namespaces',
      'Microsoft.EventHub/namespaces/eventhubs',
      'Microsoft.EventHub/namespaces/eventhubs/consumergroups',
      'Microsoft.EventHub/namespaces/authorizationRules',
      'Microsoft.Insights/diagnosticSettings',
      'Microsoft.OperationalInsights/workspaces',
      'Microsoft.OperationalInsights/workspaces/tables',
      'Microsoft.Insights/dataCollectionRules',
      'Microsoft.ManagedIdentity/userAssignedIdentities',
      'Microsoft.Storage/storageAccounts',
      'Microsoft.Storage/storageAccounts/blobServices/containers',
      'Microsoft.Insights/components',
      'Microsoft.Web/serverfarms',
      'Microsoft.Web/sites',
      'Microsoft.Authorization/roleAssignments',
      'Microsoft.SecurityInsights/onboardingStates',
      'Microsoft.SecurityInsights/alertRules',
      'Microsoft.OperationalInsights/workspaces/savedSearches',
      'Microsoft.SecurityInsights/watchlists',
      'Microsoft.Insights/scheduledQueryRules',
      'Microsoft.Insights/actionGroups',
    ]) {
      expect(types).toContain(type);
    }
  });

  test('the subscription-scope template and its parameters file compiled', () => {
    expect(main.$schema).toMatch(/subscriptionDeploymentTemplate/);
    const params = loadCompiled('main.parameters.json');
    expect(Object.keys(params.parameters as JsonObject).sort()).toEqual(
      [
        'deployerPrincipalId',
        'deployerPrincipalType',
        'deploySentinel',
        'grantDeployerEventHubsDataSender',
        'environmentName',
        'existingWorkspaceResourceId',
        'location',
        'sentinelOnboard',
      ].sort(),
    );
  });
});

describe('role assignments', () => {
  const roleTable = evaluate("[variables('roleTable')]", { template: roleModule }) as {
    scope: string;
    principal: string;
    role: string;
    roleDefinitionId: string;
  }[];

  test('the role table is exactly the least-privilege set', () => {
    const rows = roleTable.map((r) => `${r.principal}: ${ROLE[r.roleDefinitionId]} on ${r.scope}`);
    expect(rows.sort()).toEqual(
      [
        'detector: Azure Event Hubs Data Receiver on eventHub',
        'detector: Monitoring Metrics Publisher on dataCollectionRule',
        'detector: Storage Blob Data Owner on storage',
        'detector: Storage Table Data Contributor on storage',
        'detector: Monitoring Metrics Publisher on applicationInsights',
        'deployer: Azure Event Hubs Data Sender on eventHub',
      ].sort(),
    );
    // The human-readable role names in the table agree with the ids.
    for (const r of roleTable) expect(r.role).toBe(ROLE[r.roleDefinitionId]);
  });

  type Module = JsonObject & {
    properties: { parameters: Record<string, { value: Json }>; template: JsonObject };
  };
  const modules = main.resources as Record<string, Module>;
  // The role module is called twice: the storage roles first, the rest once their resources exist.
  const ROLE_CALLS = ['storageRoles', 'roles'] as const;
  // Values Azure assigns at deployment stand in for the identity module's outputs.
  const RUNTIME = { detectorPrincipalId: 'detector-principal-id' };

  /** Main's parameters (defaults, then these), pushed through each role-module call, its assignments evaluated. */
  const deployedAssignments = (mainParams: Record<string, Json>) =>
    ROLE_CALLS.flatMap((call) => {
      const module = modules[call]!;
      const params: Record<string, Json> = {};
      for (const [name, { value }] of Object.entries(module.properties.parameters)) {
        params[name] =
          name in RUNTIME
            ? RUNTIME[name as keyof typeof RUNTIME]
            : evaluate(value, {
                template: main,
                parameters: { environmentName: 'pcd-test', location: 'westeurope', ...mainParams },
              });
      }
      return resourcesOfType(module.properties.template, 'Microsoft.Authorization/roleAssignments')
        .flatMap((r) => instances(r, ['name', 'scope', 'properties'], params))
        .map((a) => {
          const p = a.properties as JsonObject;
          const roleId = /roleDefinitions, ([0-9a-f-]{36})\)$/.exec(text(p.roleDefinitionId))?.[1] ?? '?';
          return {
            call,
            name: text(a.name),
            role: ROLE[roleId] ?? roleId,
            scope: text(a.scope).replace(/evhns-pcd-\w+|dcr-pcd-\w+|stpcd\w+|appi-pcd-\w+/g, (n) =>
              n.replace(/-?pcd-?\w+$/, ''),
            ),
            principal: `${text(p.principalId)} (${p.principalType === undefined ? 'type inferred' : text(p.principalType)})`,
          };
        });
    });
  const HUB = 'resourceid(Microsoft.EventHub/namespaces/eventhubs, evhns, insights-activity-logs)';
  const DETECTOR = 'detector-principal-id (ServicePrincipal)';
  const LEAST_PRIVILEGE = [
    { call: 'roles', role: 'Azure Event Hubs Data Receiver', scope: HUB, principal: DETECTOR },
    {
      call: 'roles',
      role: 'Monitoring Metrics Publisher',
      scope: 'resourceid(Microsoft.Insights/dataCollectionRules, dcr)',
      principal: DETECTOR,
    },
    {
      call: 'storageRoles',
      role: 'Storage Blob Data Owner',
      scope: 'resourceid(Microsoft.Storage/storageAccounts, st)',
      principal: DETECTOR,
    },
    {
      call: 'storageRoles',
      role: 'Storage Table Data Contributor',
      scope: 'resourceid(Microsoft.Storage/storageAccounts, st)',
      principal: DETECTOR,
    },
    {
      call: 'roles',
      role: 'Monitoring Metrics Publisher',
      scope: 'resourceid(Microsoft.Insights/components, appi)',
      principal: DETECTOR,
    },
  ];
  const byRoleAndScope = (a: { role: string; scope: string }, b: { role: string; scope: string }) =>
    `${a.role}${a.scope}`.localeCompare(`${b.role}${b.scope}`);
  const shape = (rows: ReturnType<typeof deployedAssignments>) =>
    rows.map(({ call, role, scope, principal }) => ({ call, role, scope, principal })).sort(byRoleAndScope);

  test('the deployed assignments are exactly the least-privilege set, each on one resource', () => {
    expect(shape(deployedAssignments({}))).toEqual([...LEAST_PRIVILEGE].sort(byRoleAndScope));
  });

  test('a deployer principal alone gets nothing: the send role is opt-in and off by default', () => {
    const mainParams = main.parameters as Record<string, { defaultValue?: Json }>;
    expect(mainParams.grantDeployerEventHubsDataSender?.defaultValue).toBe(false);
    expect(shape(deployedAssignments({ deployerPrincipalId: 'deployer-principal-id' }))).toEqual(
      [...LEAST_PRIVILEGE].sort(byRoleAndScope),
    );
    expect(shape(deployedAssignments({ grantDeployerEventHubsDataSender: true }))).toEqual(
      [...LEAST_PRIVILEGE].sort(byRoleAndScope),
    );
  });

  test('opted in, the deployer gets Azure Event Hubs Data Sender on the hub only, its type left to Azure', () => {
    const deployed = deployedAssignments({
      deployerPrincipalId: 'deployer-principal-id',
      grantDeployerEventHubsDataSender: true,
    });
    expect(shape(deployed)).toEqual(
      [
        ...LEAST_PRIVILEGE,
        {
          call: 'roles',
          role: 'Azure Event Hubs Data Sender',
          scope: HUB,
          principal: 'deployer-principal-id (type inferred)',
        },
      ].sort(byRoleAndScope),
    );
  });

  test("the deployer's type, when azd gives it (AZURE_PRINCIPAL_TYPE), is passed on; no assignment hard-codes User", () => {
    for (const type of ['User', 'ServicePrincipal']) {
      const sender = deployedAssignments({
        deployerPrincipalId: 'deployer-principal-id',
        deployerPrincipalType: type,
        grantDeployerEventHubsDataSender: true,
      }).find((a) => a.role === 'Azure Event Hubs Data Sender');
      expect(sender?.principal).toBe(`deployer-principal-id (${type})`);
    }
    expect(JSON.stringify(main)).not.toMatch(/"principalType":\s*"User"/);
    const mainParams = main.parameters as Record<string, { defaultValue?: Json; allowedValues?: Json }>;
    expect(mainParams.deployerPrincipalType?.defaultValue).toBe('');
    const params = loadCompiled('main.parameters.json').parameters as Record<string, { value: Json }>;
    expect(params.deployerPrincipalType?.value).toBe('');
    expect(params.grantDeployerEventHubsDataSender?.value).toBe(false);
  });

  test('assignments are named with guid() of scope, principal id and role: distinct, and new for a new identity', () => {
    const deployed = deployedAssignments({
      deployerPrincipalId: 'deployer-principal-id',
      grantDeployerEventHubsDataSender: true,
    });
    for (const a of deployed)
      expect(a.name).toMatch(
        /^guid\(resourceid\(.*\), (detector-principal-id|deployer-principal-id), [0-9a-f-]{36}\)$/,
      );
    expect(new Set(deployed.map((a) => a.name)).size).toBe(deployed.length);
  });

  test("no role assignment exists outside the role module, and the detector principal is the identity module's", () => {
    const all = resourcesOfType(main, 'Microsoft.Authorization/roleAssignments');
    expect(new Set(all.map((a) => a.template))).toEqual(
      new Set(ROLE_CALLS.map((call) => modules[call]!.properties.template)),
    );
    for (const call of ROLE_CALLS) {
      const params = modules[call]!.properties.parameters;
      expect(params.detectorPrincipalId?.value).toBe("[reference('identity').outputs.principalId.value]");
    }
    expect(modules.identity!.properties.parameters.name?.value).toBe("[variables('names').identity]");
  });

  test('the storage roles do not wait for the rest of the pipeline, and the app waits for both calls', () => {
    const dependsOn = (symbol: string) => (modules[symbol]!.dependsOn as string[] | undefined) ?? [];
    expect(modules.storageRoles!.properties.parameters.scopes?.value).toEqual(['storage']);
    expect(modules.roles!.properties.parameters.scopes?.value).toEqual([
      'eventHub',
      'dataCollectionRule',
      'applicationInsights',
    ]);
    expect(dependsOn('storageRoles').sort()).toEqual(['identity', 'rg', 'storage']);
    expect(dependsOn('functionApp')).toEqual(expect.arrayContaining(['roles', 'storageRoles']));
    // Every scope of the table is assigned by exactly one call.
    const scopes = ROLE_CALLS.flatMap((c) => modules[c]!.properties.parameters.scopes?.value as string[]);
    expect(scopes.sort()).toEqual([...new Set(roleTable.map((r) => r.scope))].sort());
  });

  test('the azd postprovision hook gets when the storage roles were created', () => {
    const outputs = main.outputs as Record<string, { type: string; value: string }>;
    expect(outputs.DEPLOYMENT_STORAGE_ROLE_ASSIGNED_AT).toMatchObject({
      type: 'int',
      value: "[max(concat(createArray(0), reference('storageRoles').outputs.storageCreatedOnEpochs.value))]",
    });
    const storageOutput = (roleModule.outputs as Record<string, { value: Json; copy?: JsonObject }>)
      .storageCreatedOnEpochs;
    expect(JSON.stringify(storageOutput)).toContain(
      "dateTimeToEpoch(reference(format('onStorage[{0}]', copyIndex())).createdOn)",
    );
  });
});

describe('no secrets', () => {
  const compiledText = JSON.stringify(main);

  test('nothing reads keys or connection strings with secrets', () => {
    for (const forbidden of [
      /listKeys\(/i,
      /listConnectionStrings\(/i,
      /listSecrets\(/i,
      /AccountKey=/i,
      /SharedAccessKey/i,
      /primaryKey/i,
      /secondaryKey/i,
      /primaryConnectionString/i,
    ]) {
      expect(compiledText).not.toMatch(forbidden);
    }
  });

  test('outputs are names, ids and endpoints only', () => {
    const outputs = main.outputs as Record<string, { type: string; value: string }>;
    for (const [name, output] of Object.entries(outputs)) {
      expect(name).not.toMatch(/key|secret|password|connection|sas|token/i);
      expect(output.type).not.toBe('securestring');
      expect(output.value).not.toMatch(/list[A-Z]\w*\(/);
    }
    // The export rule's id stays inside the deployment: not even the id is an output.
    for (const output of Object.values(outputs))
      expect(output.value).not.toMatch(/exportRule|authorizationRule/i);
  });

  test('storage refuses shared keys; App Insights refuses local auth; TLS 1.2 minimum', () => {
    const storage = onlyResourceOfType(main, 'Microsoft.Storage/storageAccounts');
    expect(resolved(storage, ['properties'], true)).toMatchObject({
      allowSharedKeyAccess: false,
      allowBlobPublicAccess: false,
      minimumTlsVersion: 'TLS1_2',
      supportsHttpsTrafficOnly: true,
    });
    const appInsights = onlyResourceOfType(main, 'Microsoft.Insights/components');
    expect(resolved(appInsights, ['properties'], true)).toMatchObject({ DisableLocalAuth: true });
    expect(resolved(appInsights, ['properties', 'WorkspaceResourceId'], true)).toEqual(expect.any(String));
    const namespace = onlyResourceOfType(main, 'Microsoft.EventHub/namespaces');
    expect(resolved(namespace, ['sku'], true)).toMatchObject({ name: 'Standard' });
    expect(resolved(namespace, ['properties'], true)).toMatchObject({ minimumTlsVersion: '1.2' });
  });

  test('the export rule is namespace-level and send-only by default', () => {
    const rule = onlyResourceOfType(main, 'Microsoft.EventHub/namespaces/authorizationRules');
    // A namespace rule: <namespace>/<rule>, not <namespace>/<hub>/<rule>.
    const [instance] = instances(rule, ['name'], {
      namespaceName: 'evhns',
      exportRuleName: 'activity-log-export',
    });
    expect(instance?.name).toBe('evhns/activity-log-export');
    const rights = (manage: boolean) =>
      instances(rule, ['properties'], { exportRuleManage: manage })[0]?.properties;
    expect(rights(false)).toEqual({ rights: ['Send'] });
    expect(rights(true)).toEqual({ rights: ['Listen', 'Manage', 'Send'] });
    const mainParams = main.parameters as Record<string, { defaultValue?: Json }>;
    expect(mainParams.exportRuleManage?.defaultValue).toBe(false);
  });
});

describe('Function App', () => {
  const site = onlyResourceOfType(main, 'Microsoft.Web/sites');
  const settings = resolved(site, ['properties', 'siteConfig', 'appSettings'], true) as {
    name: string;
    value: Json;
  }[];
  const names = settings.map((s) => s.name);

  test('Flex Consumption, Node.js 22, user-assigned identity, identity-authenticated deployment storage', () => {
    const plan = onlyResourceOfType(main, 'Microsoft.Web/serverfarms');
    expect(resolved(plan, ['sku'])).toEqual({ tier: 'FlexConsumption', name: 'FC1' });
    const config = resolved(site, ['properties', 'functionAppConfig'], true) as JsonObject;
    expect(config.runtime).toEqual({ name: 'node', version: '22' });
    expect(config.deployment).toMatchObject({
      storage: { type: 'blobContainer', authentication: { type: 'UserAssignedIdentity' } },
    });
    expect(resolved(site, ['identity', 'type'])).toBe('UserAssigned');
    expect(resolved(site, ['properties', 'httpsOnly'])).toBe(true);
    // Flex Consumption takes the runtime from functionAppConfig; the setting is refused there.
    expect(names).not.toContain('FUNCTIONS_WORKER_RUNTIME');
  });

  test('app settings name every setting the code requires', () => {
    const required = SETTINGS.filter((s) => s.required !== 'no').map((s) => s.name);
    expect(required.length).toBeGreaterThan(3);
    expect(required.filter((n) => !names.includes(n))).toEqual([]);
  });

  test('every app setting is a code setting or a documented host setting (no typos)', () => {
    const known = new Set([
      ...SETTINGS.map((s) => s.name),
      'AzureWebJobsStorage__blobServiceUri',
      'AzureWebJobsStorage__tableServiceUri',
      'AzureWebJobsStorage__credential',
      'AzureWebJobsStorage__clientId',
      'EventHubConnection__credential',
      'EventHubConnection__clientId',
      'APPLICATIONINSIGHTS_CONNECTION_STRING',
      'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
    ]);
    expect(names.filter((n) => !known.has(n))).toEqual([]);
    expect(new Set(names).size).toBe(names.length);
  });

  test('identity-based connections only', () => {
    const byName = new Map(settings.map((s) => [s.name, s.value]));
    expect(byName.get('AzureWebJobsStorage__credential')).toBe('managedidentity');
    expect(byName.get('EventHubConnection__credential')).toBe('managedidentity');
    expect(text(byName.get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING'))).toMatch(/Authorization=AAD/);
    // No plain connection string settings: the host would prefer them to the identity-based ones.
    expect(names).not.toContain('AzureWebJobsStorage');
    expect(names).not.toContain('EventHubConnection');
    for (const s of settings)
      expect(JSON.stringify(s.value)).not.toMatch(/AccountKey|SharedAccessKey|listKeys/i);
  });

  test('loadSettings accepts the deployed settings (expressions replaced by values of their shape)', () => {
    // What each ARM expression becomes at deployment, in the shape Azure returns it.
    const deployed: Record<string, string> = {
      LOGS_INGESTION_ENDPOINT: 'https://dcr-pcd-abc-0a1b.westeurope-1.ingest.monitor.azure.com',
      LOGS_INGESTION_RULE_ID: 'dcr-0123456789abcdef0123456789abcdef',
      AZURE_CLIENT_ID: '00000000-0000-4000-8000-000000000000',
      AzureWebJobsStorage__clientId: '00000000-0000-4000-8000-000000000000',
      EventHubConnection__clientId: '00000000-0000-4000-8000-000000000000',
      EventHubConnection__fullyQualifiedNamespace: 'evhns-pcd-abc.servicebus.windows.net',
      AzureWebJobsStorage__blobServiceUri: 'https://stpcdabc.blob.core.windows.net/',
      AzureWebJobsStorage__tableServiceUri: 'https://stpcdabc.table.core.windows.net/',
      APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=00000000-0000-4000-8000-000000000000',
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING:
        'ClientId=00000000-0000-4000-8000-000000000000;Authorization=AAD',
      LOGS_INGESTION_STREAM_NAME: ALERT_STREAM_NAME,
      HEALTH_STREAM_NAME: 'Custom-PacketCaptureDetectorHealth_CL',
      PROTECTED_RESOURCE_IDS:
        '/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-pcd-test,/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-pcd-test/providers/Microsoft.OperationalInsights/workspaces/log-pcd-abc',
      EVENTHUB_NAME: 'insights-activity-logs',
      EVENTHUB_CONSUMER_GROUP: 'packet-capture-detector',
      DEAD_LETTER_CONTAINER: 'packet-capture-dead-letters',
      OPERATION_STATE_TABLE: 'packetcaptureoperations',
      CAPTURE_HISTORY_TABLE: 'packetcapturehistory',
    };
    const env: Record<string, string> = {};
    for (const s of settings) {
      const value = isExpression(s.value) ? deployed[s.name] : text(s.value);
      if (value === undefined) throw new Error(`no deployed value for the expression of ${s.name}`);
      env[s.name] = value;
    }
    const loaded = loadSettings(env, 'function');
    expect(loaded.logsIngestion?.streamName).toBe('Custom-PacketCaptureAlerts_CL');
    expect(loaded.deadLetterStorage).toEqual({
      kind: 'serviceUri',
      serviceUri: 'https://stpcdabc.blob.core.windows.net/',
    });
    expect(loaded.managedIdentityClientId).toBe('00000000-0000-4000-8000-000000000000');
    // The lifecycle join keeps its state in the table the template creates, through the identity.
    expect(loaded.operationStateStorage).toEqual({
      kind: 'serviceUri',
      serviceUri: 'https://stpcdabc.table.core.windows.net/',
    });
    expect(loaded.operationStateTable).toBe('packetcaptureoperations');
    expect(loaded.captureHistoryTable).toBe('packetcapturehistory');
    // Both state tables (lifecycle join, callers' history) are the template's, so the role never creates one.
    const tables = resourcesOfType(main, 'Microsoft.Storage/storageAccounts/tableServices/tables');
    expect(tables.map((t) => text(t.resource.name))).toEqual([
      "[format('{0}/{1}/{2}', parameters('name'), 'default', parameters('operationStateTableName'))]",
      "[format('{0}/{1}/{2}', parameters('name'), 'default', parameters('captureHistoryTableName'))]",
    ]);
    const mainParams = main.parameters as Record<string, { defaultValue?: Json }>;
    expect(mainParams.captureHistoryTableName?.defaultValue).toBe(loaded.captureHistoryTable);
    expect(loaded.protectedResourceIds).toHaveLength(2);
    expect(loaded.logsIngestion?.healthStreamName).toBe('Custom-PacketCaptureDetectorHealth_CL');
  });

  test('no FTP settings: Flex Consumption has no FTP endpoint; basic-auth publishing to SCM is off', () => {
    expect(JSON.stringify(resolved(site, ['properties', 'siteConfig'], true))).not.toMatch(/ftps/i);
    const policies = resourcesOfType(main, 'Microsoft.Web/sites/basicPublishingCredentialsPolicies');
    expect(policies.map((p) => text(p.resource.name))).toEqual([
      "[format('{0}/{1}', parameters('name'), 'scm')]",
    ]);
    expect(policies[0]?.resource.properties).toEqual({ allow: false });
  });

  test('the host storage has the deployment and dead-letter containers', () => {
    const containers = resourcesOfType(main, 'Microsoft.Storage/storageAccounts/blobServices/containers');
    expect(containers).toHaveLength(2);
    const mainParams = main.parameters as Record<string, { defaultValue?: Json }>;
    expect(mainParams.deadLetterContainerName?.defaultValue).toBe('packet-capture-dead-letters');
  });
});

describe('Activity Log export', () => {
  const setting = onlyResourceOfType(main, 'Microsoft.Insights/diagnosticSettings');

  test('exports the configured categories (Administrative by default) to the named hub', () => {
    const mainParams = main.parameters as Record<string, { defaultValue?: Json; allowedValues?: Json }>;
    expect(mainParams.activityLogCategories?.defaultValue).toEqual(['Administrative']);
    const props = setting.resource.properties as JsonObject;
    expect(props.eventHubName).toBe("[parameters('eventHubName')]");
    expect(props.eventHubAuthorizationRuleId).toBe("[parameters('eventHubAuthorizationRuleId')]");
    expect(props.copy).toMatchObject([{ name: 'logs', count: "[length(parameters('categories'))]" }]);
    expect(setting.template.targetScope ?? (setting.template.$schema as string)).toMatch(/subscription/);
  });

  test('the hub and consumer group default to the names the code uses', () => {
    const mainParams = main.parameters as Record<string, { defaultValue?: Json }>;
    expect(mainParams.eventHubName?.defaultValue).toBe('insights-activity-logs');
    expect(mainParams.consumerGroupName?.defaultValue).toBe('packet-capture-detector');
  });
});

describe('Sentinel content', () => {
  const rule = onlyResourceOfTypeIn(main, 'Microsoft.SecurityInsights/alertRules', 'sentinel');
  const props = resolved(rule, ['properties'], true) as JsonObject;

  test('a Scheduled rule: T1040 under CredentialAccess, alert name, description and severity from the query', () => {
    expect(resolved(rule, ['kind'])).toBe('Scheduled');
    expect(props.tactics).toEqual(['CredentialAccess']);
    expect(props.techniques).toEqual(['T1040']);
    // What is captured and where it goes (the row's AlertSummary), the runbook answers and why the severity.
    expect(props.alertDetailsOverride).toEqual({
      alertDisplayNameFormat: '{{AlertName}}',
      alertDescriptionFormat: '{{AlertDescription}}',
      alertSeverityColumnName: 'IncidentSeverity',
    });
    expect(props.eventGroupingSettings).toEqual({ aggregationKind: 'AlertPerResult' });
  });

  test('entities: IP, Azure resource, a user by UPN and object id, an application by object id and app id', () => {
    const mappings = props.entityMappings as {
      entityType: string;
      fieldMappings: { identifier: string; columnName: string }[];
    }[];
    const flat = mappings.map(
      (m) => `${m.entityType}: ${m.fieldMappings.map((f) => `${f.identifier}=${f.columnName}`).join(', ')}`,
    );
    expect(flat).toEqual([
      'IP: Address=CallerIpAddress',
      'AzureResource: ResourceId=ResourceId',
      'AzureResource: ResourceId=CapturedResourceId',
      'AzureResource: ResourceId=DestinationResourceId',
      'Account: Name=AccountName, UPNSuffix=AccountUPNSuffix, AadUserId=AccountObjectId',
      'Account: AadUserId=ApplicationObjectId, Name=ApplicationId',
    ]);
    // An application id is not a person's full name: Caller (UPN, else app id) is never mapped as such.
    expect(flat.join('\n')).not.toMatch(/FullName/);
    // Sentinel's limits: at most 10 mappings of at most 3 identifiers.
    expect(mappings.length).toBeLessThanOrEqual(10);
    for (const m of mappings) expect(m.fieldMappings.length).toBeLessThanOrEqual(3);
    // The columns come from Caller and CallerObjectId: a user when Caller is a UPN, an application otherwise.
    const query = text(resolved(rule, ['properties', 'query']));
    expect(query).toContain(
      '| extend CallerIsUser = CallerKind in ("User", "Guest") or (CallerKind !in ("ServicePrincipal", "ManagedIdentity") and Caller contains "@")',
    );
    expect(query).toContain('AccountName = iff(CallerIsUser, tostring(split(Caller, "@")[0]), "")');
    expect(query).toContain('AccountUPNSuffix = iff(CallerIsUser, tostring(split(Caller, "@")[1]), "")');
    expect(query).toContain('AccountObjectId = iff(CallerIsUser, CallerObjectId, "")');
    expect(query).toContain('ApplicationObjectId = iff(CallerIsUser, "", CallerObjectId)');
    expect(query).toContain(
      'ApplicationId = iff(CallerIsUser, "", coalesce(CallerAppId, iff(Caller == CallerObjectId, "", Caller)))',
    );
    // The captured resource and the destination as Azure resources: the top-level resource of their ids, the
    // captured one only when it is not the operation's own resource (a gateway captures itself).
    expect(query).toContain(
      'DestinationResourceId = extract(@"^(/subscriptions/[^/]+/resourceGroups/[^/]+/providers/[^/]+/[^/]+/[^/]+)", 1, CaptureStorage)',
    );
    expect(query).toContain(
      'CapturedResourceId = iff(CapturedResourceId =~ ResourceId, "", CapturedResourceId)',
    );
    expect(Object.keys(props.customDetails as JsonObject)).toEqual(
      expect.arrayContaining(['Operation', 'CaptureKind', 'CorrelationId', 'Location', 'DetectorAlertId']),
    );
  });

  test("incidents group alerts with the same title within an hour (Panther's dedup)", () => {
    // The alert name says more than the seed's title; the title (by location) rides along as a custom detail.
    expect(props.incidentConfiguration).toMatchObject({
      createIncident: true,
      groupingConfiguration: {
        enabled: true,
        matchingMethod: 'Selected',
        groupByAlertDetails: [],
        groupByCustomDetails: ['GroupingTitle'],
        groupByEntities: [],
      },
    });
    expect((props.customDetails as JsonObject).GroupingTitle).toBe('AlertTitle');
    const mainParams = main.parameters as Record<string, { defaultValue?: Json }>;
    expect(mainParams.incidentGroupingLookback?.defaultValue).toBe('PT1H');
    expect(mainParams.alertRuleQueryPeriod?.defaultValue).toBe('P14D');
  });

  test('the allowlist watchlist is the repository file the function ships, deployed once it has a row', () => {
    const [watchlist] = resourcesOfType(main, 'Microsoft.SecurityInsights/watchlists');
    expect(watchlist).toBeDefined();
    const shipped = readFileSync(join(ROOT, SHIPPED_ALLOWLIST_FILE), 'utf8');
    // The same bytes the package ships (test/functions/deploymentPackage.test.ts) and the function applies.
    expect(evaluate("[variables('allowlistCsv')]", { template: watchlist!.template })).toBe(shipped);
    expect(watchlist!.resource.properties).toMatchObject({
      rawContent: "[variables('allowlistCsv')]",
      contentType: 'text/csv',
      numberOfLinesToSkip: 0,
      sourceType: 'Local file',
    });
    const key = text((watchlist!.resource.properties as JsonObject).itemsSearchKey);
    expect(ALLOWLIST_COLUMNS).toContain(key);
    expect(resolved(watchlist!, ['name'])).toBe('PacketCaptureAllowlist');
    // A watchlist needs items: a header-only file deploys none (a row below the header turns it on).
    expect(watchlist!.resource.condition).toBe("[variables('allowlistHasRows')]");
    expect((watchlist!.template.variables as JsonObject).allowlistHasRows).toBe(
      "[contains(trim(variables('allowlistCsv')), '\n')]",
    );
    // The function reads the same file: the app setting names it, the package ships it.
    const site = onlyResourceOfType(main, 'Microsoft.Web/sites');
    const appSettings = resolved(site, ['properties', 'siteConfig', 'appSettings'], true) as {
      name: string;
      value: Json;
    }[];
    expect(appSettings.find((a) => a.name === 'ALLOWLIST_PATH')?.value).toBe(SHIPPED_ALLOWLIST_FILE);
  });

  test('three hunting queries, in the Hunting Queries category, version 2, tagged T1040', () => {
    const searches = resourcesOfType(main, 'Microsoft.OperationalInsights/workspaces/savedSearches');
    expect(searches).toHaveLength(1);
    const loop = searches[0]!;
    expect(evaluate((loop.resource.copy as JsonObject).count, { template: loop.template })).toBe(3);
    const p = loop.resource.properties as JsonObject;
    expect(p.category).toBe('Hunting Queries');
    expect(p.version).toBe(2);
    expect(p.tags).toEqual(
      expect.arrayContaining([
        { name: 'tactics', value: 'CredentialAccess' },
        { name: 'techniques', value: 'T1040' },
      ]),
    );
  });

  test("hunting queries are redeployable: etag '*' in properties, the form Resource Manager accepts", () => {
    const [loop] = resourcesOfType(main, 'Microsoft.OperationalInsights/workspaces/savedSearches');
    expect((loop!.resource.properties as JsonObject).etag).toBe('*');
  });

  test('the only linter or type suppressions in infra/ are the two documented ones', () => {
    const suppressions: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.bicep') || entry.name.endsWith('.bicepparam')) {
          readFileSync(path, 'utf8')
            .split('\n')
            .forEach((line, i) => {
              if (line.includes('#disable-'))
                suppressions.push(`${relative(ROOT, path)}:${i + 1} ${line.trim()}`);
            });
        }
      }
    };
    walk(join(ROOT, 'infra'));
    expect(suppressions.map((s) => s.replace(/:\d+ /, ' '))).toEqual([
      'infra/modules/activity-log-export.bicep #disable-next-line use-recent-api-versions',
      'infra/modules/sentinel.bicep #disable-next-line BCP037',
    ]);
    // BCP037's line is the etag, and nothing else.
    const sentinel = readFileSync(join(ROOT, 'infra', 'modules', 'sentinel.bicep'), 'utf8').split('\n');
    const at = sentinel.findIndex((l) => l.includes('#disable-next-line BCP037'));
    expect(sentinel[at + 1]?.trim()).toBe("etag: '*'");
  });

  test('Sentinel is optional and onboarding skippable', () => {
    const sentinelModule = (main.resources as Record<string, JsonObject>).sentinel!;
    expect(sentinelModule.condition).toBe("[parameters('deploySentinel')]");
    const onboarding = onlyResourceOfType(main, 'Microsoft.SecurityInsights/onboardingStates');
    expect(onboarding.resource.condition).toBe("[parameters('onboard')]");
  });
});

describe('azd', () => {
  test("location carries azd's location metadata, so azd prompts with the region picker", () => {
    const params = main.parameters as Record<string, { metadata?: JsonObject }>;
    expect(params.location?.metadata).toMatchObject({ azd: { type: 'location' } });
  });

  test('azure.yaml deploys this package as the function service "detector"', () => {
    const yaml = readFileSync(join(ROOT, 'azure.yaml'), 'utf8');
    expect(yaml).toMatch(
      /^services:\n {2}detector:\n {4}project: \.\n {4}language: ts\n {4}host: function$/m,
    );
    expect(yaml).toMatch(/^infra:\n {2}provider: bicep\n {2}path: infra\n {2}module: main$/m);
    const site = onlyResourceOfType(main, 'Microsoft.Web/sites');
    expect(JSON.stringify(site.resource.tags)).toContain("'azd-service-name', 'detector'");
  });
});

describe('deploy documentation', () => {
  test('the parameter table of README.md (Deploy) lists exactly the template parameters, with their defaults', () => {
    const doc = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const deploy = doc.slice(doc.indexOf('## Deploy'));
    const section = deploy.slice(deploy.indexOf('### Parameters'), deploy.indexOf('### What gets created'));
    const rows = [...section.matchAll(/^\| `(\w+)` \| (\w+) \| ([^|]+) \|/gm)].map((m) => ({
      name: m[1]!,
      type: m[2]!,
      default: m[3]!.trim(),
    }));
    const params = main.parameters as Record<string, { type: string; defaultValue?: Json }>;
    expect(rows.map((r) => r.name)).toEqual(Object.keys(params));
    for (const row of rows) {
      const p = params[row.name]!;
      expect(`${row.name}: ${row.type}`).toBe(`${row.name}: ${p.type}`);
      const d = p.defaultValue;
      if (d === undefined) expect(row.default).toBe('(required)');
      else if (d === '') expect(row.default).toBe('empty');
      else if (typeof d === 'string' && !isExpression(d)) expect(row.default).toBe(`\`${d}\``);
      else if (typeof d === 'number' || typeof d === 'boolean') expect(row.default).toBe(`\`${String(d)}\``);
    }
  });
});
