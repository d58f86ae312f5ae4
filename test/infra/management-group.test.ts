import {
  allResources,
  evaluate,
  FAKE_MANAGEMENT_GROUP,
  FAKE_SUBSCRIPTION_ID,
  loadCompiled,
  onlyResourceOfType,
  resourcesOfType,
  text,
  type FoundResource,
  type Json,
  type JsonObject,
} from './helpers/arm';

/**
 * infra/management-group/main.bicep: the optional template that covers every subscription under a management
 * group. Its policy is read the way Azure stores it (the compiled template evaluated with parameters, escaped
 * policy expressions unescaped), and its existence condition is evaluated against diagnostic settings with a
 * small evaluator of the policy language constructs it uses (allOf, field equals / in, count with where).
 */

const mg = loadCompiled('management-group/main.json');
const PARAMS = {
  environmentName: 'pcd-prod',
  location: 'westeurope',
  eventHubSubscriptionId: '11111111-1111-4111-8111-111111111111',
  eventHubResourceGroupName: 'rg-pcd-prod',
  eventHubNamespaceName: 'evhns-pcd-abc',
};
const RULE_ID =
  '/subscriptions/11111111-1111-4111-8111-111111111111/resourceGroups/rg-pcd-prod/providers/Microsoft.EventHub/namespaces/evhns-pcd-abc/authorizationRules/activity-log-export';

const MONITORING_CONTRIBUTOR = '749f88d5-cbae-40b8-bcfc-e573ddc772fa';
// Roles broader than the remediation needs: Azure Event Hubs Data Owner, Contributor, Owner, User Access Admin.
const TOO_BROAD = [
  'f526a384-b230-433a-b45c-95f59c4a2dec',
  'b24988ac-6180-42a0-ab88-20f7382dd24c',
  '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9',
];

const inMg = (value: Json | undefined, params: Record<string, Json> = PARAMS) =>
  evaluate(value, { template: mg, parameters: params });
const modules = mg.resources as Record<
  string,
  JsonObject & { properties: { parameters: Record<string, { value: Json }>; template: JsonObject } }
>;
const moduleParams = (symbol: string, params: Record<string, Json> = PARAMS) =>
  Object.fromEntries(
    Object.entries(modules[symbol]!.properties.parameters).map(([k, v]) => {
      try {
        return [k, inMg(v.value, params)];
      } catch {
        return [k, `runtime:${k}`];
      }
    }),
  ) as Record<string, Json>;

const definition = onlyResourceOfType(mg, 'Microsoft.Authorization/policyDefinitions');
const assignment = onlyResourceOfType(mg, 'Microsoft.Authorization/policyAssignments');
// The policy as Azure stores it: our deployment's expressions evaluated, the policy's own kept as expressions.
const policyRule = inMg(definition.resource.properties, PARAMS) as JsonObject;
const rule = policyRule.policyRule as {
  if: JsonObject;
  then: { effect: string; details: JsonObject & { existenceCondition: Condition; deployment: JsonObject } };
};
const assignmentProps = inMg(
  Object.fromEntries(
    Object.entries(assignment.resource.properties as JsonObject).filter(([k]) => k !== 'policyDefinitionId'),
  ),
) as { parameters: Record<string, { value: Json }>; notScopes: Json };

// ---- a small evaluator of the policy language, for the existence condition ---------------------------------

type Condition = JsonObject;
const ALIAS = 'Microsoft.Insights/diagnosticSettings/';

/** The values a policy alias selects in a diagnostic setting; `logs[*].x` inside a count's where: one log's x. */
function aliasValue(setting: JsonObject, field: string, current?: JsonObject): Json {
  const path = field.slice(ALIAS.length);
  if (path.startsWith('logs[*].')) return current?.[path.slice('logs[*].'.length)] ?? null;
  return (setting.properties as JsonObject)[path] ?? null;
}

/** Policy parameter expressions resolved with the assignment's values. */
function policyValue(value: Json): Json {
  if (typeof value !== 'string') return value;
  const param = /^\[parameters\('(\w+)'\)\]$/.exec(value)?.[1];
  if (param) return assignmentProps.parameters[param]!.value;
  const length = /^\[length\(parameters\('(\w+)'\)\)\]$/.exec(value)?.[1];
  if (length) return (assignmentProps.parameters[length]!.value as Json[]).length;
  return value;
}

// String comparisons in Azure Policy are case-insensitive.
const scalar = (v: Json) => (typeof v === 'string' ? v : JSON.stringify(v)).toLowerCase();
// (a boolean true and the string "true" are equal, as Azure Policy compares them).
const same = (a: Json, b: Json) => scalar(a) === scalar(b);

function holds(condition: Condition, setting: JsonObject, current?: JsonObject): boolean {
  if (Array.isArray(condition.allOf))
    return (condition.allOf as Condition[]).every((c) => holds(c, setting, current));
  if (Array.isArray(condition.anyOf))
    return (condition.anyOf as Condition[]).some((c) => holds(c, setting, current));
  if (condition.count !== undefined) {
    const count = condition.count as { field: string; where: Condition };
    expect(count.field).toBe(`${ALIAS}logs[*]`);
    const logs = ((setting.properties as JsonObject).logs as JsonObject[] | undefined) ?? [];
    const n = logs.filter((log) => holds(count.where, setting, log)).length;
    if ('equals' in condition) return n === policyValue(condition.equals);
    throw new Error(`unsupported count comparison in ${JSON.stringify(condition)}`);
  }
  const actual = aliasValue(setting, text(condition.field), current);
  if ('equals' in condition) return same(actual, policyValue(condition.equals));
  if ('in' in condition) return (policyValue(condition.in) as Json[]).some((v) => same(actual, v));
  throw new Error(`unsupported condition ${JSON.stringify(condition)}`);
}

const setting = (props: JsonObject): JsonObject => ({ properties: props });
const logs = (enabled: Record<string, boolean>) =>
  Object.entries(enabled).map(([category, on]) => ({ category, enabled: on }));

describe('management-group template: the policy', () => {
  test("is a management-group deployment whose location carries azd's location metadata", () => {
    expect(mg.$schema).toMatch(/managementGroupDeploymentTemplate/);
    const params = mg.parameters as Record<string, { metadata?: JsonObject; defaultValue?: Json }>;
    expect(params.location?.metadata).toMatchObject({ azd: { type: 'location' } });
    expect(params.policyEffect?.defaultValue).toBe('DeployIfNotExists');
    expect(params.activityLogCategories?.defaultValue).toEqual(['Administrative']);
    const file = loadCompiled('management-group/main.parameters.json').parameters as Record<string, unknown>;
    expect(Object.keys(file).sort()).toEqual(
      [
        'environmentName',
        'location',
        'eventHubSubscriptionId',
        'eventHubResourceGroupName',
        'eventHubNamespaceName',
        'eventHubName',
      ].sort(),
    );
  });

  test('targets every subscription and deploys its subscription diagnostic setting (DeployIfNotExists)', () => {
    expect(policyRule).toMatchObject({ policyType: 'Custom', mode: 'All' });
    expect(rule.if).toEqual({ field: 'type', equals: 'Microsoft.Resources/subscriptions' });
    expect(rule.then.effect).toBe("[parameters('effect')]");
    expect(rule.then.details).toMatchObject({
      type: 'Microsoft.Insights/diagnosticSettings',
      existenceScope: 'subscription',
      deploymentScope: 'subscription',
    });
    expect(assignmentProps.parameters.effect?.value).toBe('DeployIfNotExists');
  });

  test("its assignment passes the detector's hub: the namespace SAS rule, the hub, the categories", () => {
    expect(assignmentProps.parameters).toEqual({
      effect: { value: 'DeployIfNotExists' },
      eventHubAuthorizationRuleId: {
        value: `resourceid(${PARAMS.eventHubSubscriptionId}, ${PARAMS.eventHubResourceGroupName}, Microsoft.EventHub/namespaces/authorizationRules, ${PARAMS.eventHubNamespaceName}, activity-log-export)`,
      },
      eventHubName: { value: 'insights-activity-logs' },
      diagnosticSettingName: { value: 'packet-capture-detector-pcd-prod' },
      categories: { value: ['Administrative'] },
    });
    expect(assignmentProps.notScopes).toEqual([]);
    // The symbolic resourceId() above is this id.
    expect(RULE_ID.split('/').slice(-3)).toEqual([
      PARAMS.eventHubNamespaceName,
      'authorizationRules',
      'activity-log-export',
    ]);
  });

  describe("existence condition: a subscription is compliant only with a setting sending to the detector's hub", () => {
    // The assignment's rule id, as Azure would hold it.
    beforeAll(() => {
      assignmentProps.parameters.eventHubAuthorizationRuleId = { value: RULE_ID };
    });
    const condition = () => rule.then.details.existenceCondition;

    test.each([
      [
        "the detector's hub, Administrative on: compliant",
        {
          eventHubAuthorizationRuleId: RULE_ID,
          eventHubName: 'insights-activity-logs',
          logs: logs({ Administrative: true, Policy: false }),
        },
        true,
      ],
      [
        'the same rule id in other letter case: compliant',
        {
          eventHubAuthorizationRuleId: RULE_ID.toUpperCase(),
          eventHubName: 'INSIGHTS-ACTIVITY-LOGS',
          logs: logs({ Administrative: true }),
        },
        true,
      ],
      [
        'another hub of the namespace: not compliant',
        {
          eventHubAuthorizationRuleId: RULE_ID,
          eventHubName: 'other-hub',
          logs: logs({ Administrative: true }),
        },
        false,
      ],
      [
        'another namespace: not compliant',
        {
          eventHubAuthorizationRuleId: RULE_ID.replace('evhns-pcd-abc', 'evhns-siem'),
          eventHubName: 'insights-activity-logs',
          logs: logs({ Administrative: true }),
        },
        false,
      ],
      [
        'a workspace only: not compliant',
        {
          workspaceId:
            '/subscriptions/x/resourceGroups/y/providers/Microsoft.OperationalInsights/workspaces/z',
          logs: logs({ Administrative: true }),
        },
        false,
      ],
      [
        'the hub, but Administrative off: not compliant',
        {
          eventHubAuthorizationRuleId: RULE_ID,
          eventHubName: 'insights-activity-logs',
          logs: logs({ Administrative: false, Security: true }),
        },
        false,
      ],
    ] as const)('%s', (_name, props, compliant) => {
      expect(holds(condition(), setting(props as unknown as JsonObject))).toBe(compliant);
    });

    test('with several categories asked for, every one must be on', () => {
      const saved = assignmentProps.parameters.categories;
      assignmentProps.parameters.categories = { value: ['Administrative', 'Security'] };
      try {
        const base = { eventHubAuthorizationRuleId: RULE_ID, eventHubName: 'insights-activity-logs' };
        expect(
          holds(condition(), setting({ ...base, logs: logs({ Administrative: true, Security: true }) })),
        ).toBe(true);
        expect(
          holds(condition(), setting({ ...base, logs: logs({ Administrative: true, Security: false }) })),
        ).toBe(false);
      } finally {
        assignmentProps.parameters.categories = saved!;
      }
    });
  });

  test('its deployment writes that setting: the rule, the hub and every category, at subscription scope', () => {
    const deployment = rule.then.details.deployment as {
      location: string;
      properties: { mode: string; template: JsonObject; parameters: JsonObject };
    };
    expect(deployment.location).toBe('westeurope');
    expect(deployment.properties.mode).toBe('incremental');
    const template = deployment.properties.template;
    expect(template.$schema).toMatch(/subscriptionDeploymentTemplate/);
    const resources = template.resources as JsonObject[];
    expect(resources).toHaveLength(1);
    const diag = resources[0]!;
    expect(diag).toMatchObject({
      type: 'Microsoft.Insights/diagnosticSettings',
      name: "[parameters('settingName')]",
      properties: {
        eventHubAuthorizationRuleId: "[parameters('eventHubAuthorizationRuleId')]",
        eventHubName: "[parameters('eventHubName')]",
        copy: [
          {
            name: 'logs',
            count: "[length(parameters('categories'))]",
            input: { category: "[parameters('categories')[copyIndex('logs')]]", enabled: true },
          },
        ],
      },
    });
    // Each template parameter is fed the policy parameter of the same meaning.
    expect(deployment.properties.parameters).toEqual({
      settingName: { value: "[parameters('diagnosticSettingName')]" },
      eventHubAuthorizationRuleId: { value: "[parameters('eventHubAuthorizationRuleId')]" },
      eventHubName: { value: "[parameters('eventHubName')]" },
      categories: { value: "[parameters('categories')]" },
    });
  });
});

describe('management-group template: the least roles for remediation', () => {
  const roleModule = modules.exportKeyRole!.properties.template;
  const roleDefinition = onlyResourceOfType(roleModule, 'Microsoft.Authorization/roleDefinitions');
  const roleProps = evaluate(roleDefinition.resource.properties, {
    template: roleModule,
    parameters: moduleParams('exportKeyRole'),
  }) as { permissions: { actions: string[]; dataActions: string[] }[]; assignableScopes: string[] };
  const exportKeyRoleId = text(inMg("[variables('exportKeyRoleId')]"));

  const assignments = (): { scope: string; role: string; principal: string; name: string }[] =>
    ['monitoringContributor', 'exportKeyReader'].flatMap((symbol) => {
      const template = modules[symbol]!.properties.template;
      return resourcesOfType(template, 'Microsoft.Authorization/roleAssignments').map((r: FoundResource) => {
        const ctx = { template, parameters: moduleParams(symbol) };
        const props = evaluate(r.resource.properties, ctx) as JsonObject;
        return {
          scope:
            symbol === 'monitoringContributor'
              ? 'managementGroup'
              : text(evaluate(r.resource.scope ?? null, ctx, true)),
          role: text(props.roleDefinitionId),
          principal: text(props.principalId),
          name: text(evaluate(r.resource.name, ctx)),
        };
      });
    });

  test('the assignment has a system-assigned identity', () => {
    expect(assignment.resource.identity).toEqual({ type: 'SystemAssigned' });
  });

  test('it holds Monitoring Contributor on the management group and listkeys on the SAS rule, nothing else', () => {
    const found = assignments();
    expect(found.map(({ scope, role, principal }) => ({ scope, role, principal }))).toEqual([
      {
        scope: 'managementGroup',
        role: `tenantresourceid(Microsoft.Authorization/roleDefinitions, ${MONITORING_CONTRIBUTOR})`,
        principal: 'runtime:principalId',
      },
      {
        scope: expect.stringContaining('authorizationRules') as string,
        role: exportKeyRoleId,
        principal: 'runtime:principalId',
      },
    ]);
    expect(modules.monitoringContributor!.properties.parameters.principalId?.value).toMatch(
      /policyAssignment.*identity\.principalId/,
    );
    expect(modules.exportKeyReader!.properties.parameters.principalId?.value).toMatch(
      /policyAssignment.*identity\.principalId/,
    );
    // The rule's scope is the detector's rule, in the detector's resource group.
    expect(modules.exportKeyReader!.resourceGroup).toBe("[parameters('eventHubResourceGroupName')]");
    expect(modules.exportKeyReader!.subscriptionId).toBe("[parameters('eventHubSubscriptionId')]");
    for (const broad of TOO_BROAD) expect(JSON.stringify(mg)).not.toContain(broad);
  });

  test("the custom role is exactly listkeys on authorization rules (plus reads), assignable in the hub's resource group only", () => {
    expect(roleProps.permissions).toEqual([
      {
        actions: [
          'Microsoft.EventHub/namespaces/read',
          'Microsoft.EventHub/namespaces/authorizationRules/read',
          'Microsoft.EventHub/namespaces/authorizationRules/listkeys/action',
        ],
        notActions: [],
        dataActions: [],
        notDataActions: [],
      },
    ]);
    // Defined in the detector's subscription (the module is deployed there), assignable in its resource group.
    expect(modules.exportKeyRole!.subscriptionId).toBe("[parameters('eventHubSubscriptionId')]");
    expect(roleProps.assignableScopes).toEqual([
      `subscriptionresourceid(${FAKE_SUBSCRIPTION_ID}, Microsoft.Resources/resourceGroups, rg-pcd-prod)`,
    ]);
  });

  test('the policy declares the same roles it is given (roleDefinitionIds)', () => {
    expect(rule.then.details.roleDefinitionIds).toEqual(assignments().map((a) => a.role));
  });

  test('role assignment names are stable: from the scope, the policy assignment and the role', () => {
    for (const a of assignments()) expect(a.name).toMatch(/^guid\(.*policyAssignments, pcd-al-\w{13}.*\)$/);
  });
});

describe('management-group template: remediation and names', () => {
  const remediation = onlyResourceOfType(mg, 'Microsoft.PolicyInsights/remediations');

  test('a remediation task for the subscriptions that exist, after the roles, when the effect deploys', () => {
    expect(remediation.resource.condition).toBe(
      "[and(parameters('createRemediationTask'), equals(parameters('policyEffect'), 'DeployIfNotExists'))]",
    );
    expect(inMg(remediation.resource.properties)).toEqual({
      policyAssignmentId: `extensionresourceid(/providers/Microsoft.Management/managementGroups/${FAKE_MANAGEMENT_GROUP}, Microsoft.Authorization/policyAssignments, ${text(inMg(assignment.resource.name))})`,
      resourceDiscoveryMode: 'ExistingNonCompliant',
    });
    expect(remediation.resource.dependsOn).toEqual(
      expect.arrayContaining(['monitoringContributor', 'exportKeyReader']),
    );
    expect(inMg(remediation.resource.name)).toMatch(/^pcd-al-\w{13}-1$/);
    expect(inMg(remediation.resource.name, { ...PARAMS, remediationRunId: '20260301' })).toMatch(
      /-20260301$/,
    );
  });

  test('names derive from the environment: two environments share none; the assignment name fits 24 characters', () => {
    const other = { ...PARAMS, environmentName: 'pcd-staging-with-a-long-environment-name' };
    const names = (params: Record<string, Json>) => [
      text(inMg(definition.resource.name, params)),
      text(inMg(assignment.resource.name, params)),
      text(inMg("[variables('exportKeyRoleGuid')]", params)),
      ...Object.values(modules).map((m) => text(inMg(m.name, params))),
    ];
    const a = names(PARAMS);
    const b = names(other);
    expect(a.filter((n) => b.includes(n))).toEqual([]);
    expect(text(inMg(assignment.resource.name, other)).length).toBeLessThanOrEqual(24);
    for (const n of [...a, ...b].filter((n) => !n.startsWith('guid(')))
      expect(n.length).toBeLessThanOrEqual(64);
  });

  test('every resource of the template is accounted for above', () => {
    expect(
      allResources(mg)
        .map((r) => r.type)
        .sort(),
    ).toEqual(
      [
        'Microsoft.Authorization/policyAssignments',
        'Microsoft.Authorization/policyDefinitions',
        'Microsoft.Authorization/roleAssignments',
        'Microsoft.Authorization/roleAssignments',
        'Microsoft.Authorization/roleDefinitions',
        'Microsoft.PolicyInsights/remediations',
        'Microsoft.Resources/deployments',
        'Microsoft.Resources/deployments',
        'Microsoft.Resources/deployments',
      ].sort(),
    );
  });
});
