import { join } from 'node:path';
import {
  evaluate,
  isExpression,
  loadCompiled,
  resourcesOfType,
  ROOT,
  text,
  type Json,
  type JsonObject,
} from './helpers/arm';
import { buildParams } from './helpers/bicep';

/**
 * Two azd environments in one subscription must coexist: every name at subscription scope (and in a resource
 * group they may share, such as an existing workspace's) must differ between them, or the second deployment
 * fails (InvalidDeploymentLocation for a deployment name reused in another region) or silently takes over the
 * first one's resources (the one subscription diagnostic setting repointed to the second hub). main.bicepparam
 * is compiled for each environment, and the compiled main.json evaluated with the parameters it yields.
 */

const main = loadCompiled('main.json');
const PARAMS_FILE = join(ROOT, 'infra', 'main.bicepparam');

interface Environment {
  readonly name: string;
  readonly location: string;
}

const ENVIRONMENTS: readonly Environment[] = [
  { name: 'pcd-blue', location: 'westeurope' },
  // Same region: the diagnostic setting would be repointed if its name were fixed.
  { name: 'pcd-green', location: 'westeurope' },
  // Another region: a fixed subscription-scope deployment name fails with InvalidDeploymentLocation.
  { name: 'pcd-red', location: 'northeurope' },
];

interface ScopedNames {
  readonly deployments: readonly string[];
  readonly diagnosticSettings: readonly string[];
  readonly subscriptionRoleAssignments: readonly string[];
  readonly resourceGroups: readonly string[];
}

type Module = JsonObject & {
  properties: { parameters: Record<string, { value: Json }>; template: JsonObject };
};

function topLevel(type: string): [string, JsonObject][] {
  return Object.entries(main.resources as Record<string, JsonObject>).filter(
    ([, r]) => text(r.type).toLowerCase() === type.toLowerCase() && r.existing !== true,
  );
}

function namesFor(env: Environment): ScopedNames {
  const parameters = buildParams(PARAMS_FILE, {
    AZURE_ENV_NAME: env.name,
    AZURE_LOCATION: env.location,
  }) as Record<string, Json>;
  expect(parameters.environmentName).toBe(env.name);
  const inMain = (value: Json | undefined) => text(evaluate(value, { template: main, parameters }));
  const modules = topLevel('Microsoft.Resources/deployments') as [string, Module][];
  // A module whose deployment has no resourceGroup is deployed at subscription scope.
  const subscriptionModules = modules.filter(([, m]) => m.resourceGroup === undefined);
  const diagnosticSettings = subscriptionModules.flatMap(([, m]) =>
    resourcesOfType(m.properties.template, 'Microsoft.Insights/diagnosticSettings').map((r) => {
      const name = text(r.resource.name);
      const param = /^\[parameters\('(\w+)'\)\]$/.exec(name)?.[1];
      return param ? inMain(m.properties.parameters[param]?.value) : name;
    }),
  );
  const subscriptionRoleAssignments = [
    ...topLevel('Microsoft.Authorization/roleAssignments').map(([, r]) => inMain(r.name)),
    ...subscriptionModules.flatMap(([, m]) =>
      resourcesOfType(m.properties.template, 'Microsoft.Authorization/roleAssignments').map((r) =>
        text(r.resource.name),
      ),
    ),
  ];
  return {
    deployments: modules.map(([, m]) => inMain(m.name)),
    diagnosticSettings,
    subscriptionRoleAssignments,
    resourceGroups: topLevel('Microsoft.Resources/resourceGroups').map(([, r]) => inMain(r.name)),
  };
}

const byEnvironment = ENVIRONMENTS.map((env) => ({ env, names: namesFor(env) }));

describe('two environments in one subscription', () => {
  test('every module deployment is at the top of main.bicep (so the names below are all of them)', () => {
    const nested = resourcesOfType(main, 'Microsoft.Resources/deployments').filter((d) => d.path.length > 0);
    expect(nested).toEqual([]);
    expect(byEnvironment[0]!.names.deployments.length).toBeGreaterThan(8);
  });

  test('deployment names are derived from the environment and its region, and fit in 64 characters', () => {
    for (const { env, names } of byEnvironment) {
      for (const name of names.deployments) {
        expect(isExpression(name)).toBe(false);
        expect(name.length).toBeLessThanOrEqual(64);
        expect(name).toMatch(/^[-\w.()]+$/);
      }
      expect(new Set(names.deployments).size).toBe(names.deployments.length);
      expect(env.name.length).toBeGreaterThan(0);
    }
  });

  test.each([
    [0, 1],
    [0, 2],
    [1, 2],
  ])('environments %i and %i share no subscription-scope name', (a, b) => {
    const x = byEnvironment[a]!.names;
    const y = byEnvironment[b]!.names;
    const shared = (left: readonly string[], right: readonly string[]) =>
      left.filter((n) => right.includes(n));
    expect(shared(x.deployments, y.deployments)).toEqual([]);
    expect(shared(x.diagnosticSettings, y.diagnosticSettings)).toEqual([]);
    expect(shared(x.subscriptionRoleAssignments, y.subscriptionRoleAssignments)).toEqual([]);
  });

  test('the diagnostic setting, one per environment, is named after it', () => {
    for (const { env, names } of byEnvironment) {
      expect(names.diagnosticSettings).toEqual([`packet-capture-detector-${env.name}`]);
    }
  });

  test("no role is assigned at subscription scope; every assignment is on one of the environment's resources", () => {
    for (const { names } of byEnvironment) expect(names.subscriptionRoleAssignments).toEqual([]);
  });

  test('environments with different names get different resource groups', () => {
    expect(byEnvironment[0]!.names.resourceGroups).toEqual(['rg-pcd-blue']);
    expect(byEnvironment[1]!.names.resourceGroups).toEqual(['rg-pcd-green']);
    expect(byEnvironment[2]!.names.resourceGroups).toEqual(['rg-pcd-red']);
  });
});
