/**
 * A synthetic but realistic Activity Log stream, generated in memory and deterministic for a seed: Event Hub
 * bodies of ~200 diagnostic-export records (~240 KB), with the mix of categories, operations, result types
 * and identities a busy tenant produces. Strings are escaped the way the .NET exporter does (`'` as
 * `\u0027`, `&` as `\u0026`), so the prefilter's escape handling is exercised as in real exports.
 */

import { prng } from './prng';

export interface CorpusOptions {
  readonly bodies: number;
  readonly recordsPerBody: number;
  /** One body in `matchEvery` holds a capture-starting success (0: none, 1: every body). */
  readonly matchEvery: number;
  /** One body in `nearMissEvery` holds a capture-related operation that must not alert (0: none). */
  readonly nearMissEvery: number;
  /**
   * Fraction of identities whose display name holds a character whose upper case is ASCII (`ß` → `SS`,
   * `ı` → `I`): bodies holding them take the prefilter's fold check.
   */
  readonly foldingNames: boolean;
  readonly seed: number;
}

export interface Corpus {
  readonly bodies: Buffer[];
  readonly bytes: number;
  readonly records: number;
  /** Capture-starting successes in the corpus, i.e. the alerts a correct detector must produce. */
  readonly expectedAlerts: number;
  readonly matchingBodies: number;
  readonly nearMissBodies: number;
}

type Rand = () => number;

const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;

function weighted<T>(rand: Rand, items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let r = rand() * total;
  for (const [item, w] of items) {
    r -= w;
    if (r < 0) return item;
  }
  return items[items.length - 1]![0];
}

function hex(rand: Rand, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'.charAt(Math.floor(rand() * 16));
  return s;
}

const guid = (rand: Rand) =>
  `${hex(rand, 8)}-${hex(rand, 4)}-${hex(rand, 4)}-${hex(rand, 4)}-${hex(rand, 12)}`;

const TENANT = '4b1f0c2e-8d3a-4e6f-b2a9-7c5d1e0f3a84';
const SUBSCRIPTIONS = [
  '7f3c2a10-5b7e-4c1d-9a0e-2f6b8d4c1e35',
  'a0d1c3e5-7b9f-4a2c-8e6d-1f3b5a7c9e0d',
  '2c4e6a8b-0d1f-4e3a-9b5c-7d9f1b3d5f7a',
];
const GROUPS = ['rg-app-prod', 'rg-app-dev', 'rg-data', 'rg-net-hub', 'NetworkWatcherRG', 'rg-aks-prod'];
const LOCATIONS = ['westeurope', 'northeurope', 'eastus', 'eastus2', 'global'];

interface Identity {
  readonly kind: 'User' | 'ServicePrincipal';
  readonly name: string;
  readonly upn: string;
  readonly appId: string;
  readonly objectId: string;
  readonly ip: string;
}

const USER_NAMES = [
  'Alex Wilber',
  'Megan Bowen',
  'Lee Gu',
  'Nestor Wilke',
  'Pradeep Gupta',
  'Isaiah Langer',
  'Johanna Lorenz',
  'Lidia Holloway',
  'José Álvarez',
  'Zoë Müller',
  'Søren Kierkegård',
  'Chloé Lefèvre',
  'Łukasz Wójcik',
  'Nguyễn Văn An',
];
/** Names whose upper case holds ASCII letters produced from non-ASCII ones (German ß, Turkish ı). */
const FOLDING_NAMES = ['Jürgen Groß', 'Aylin Işık'];
const APPS = [
  'azure-devops-deployer',
  'terraform-prod',
  'aks-autoscaler',
  'policy-remediation',
  'backup-vault-msi',
  'defender-for-cloud',
];

function identities(rand: Rand, foldingNames: boolean): Identity[] {
  const names = foldingNames ? [...USER_NAMES, ...FOLDING_NAMES] : USER_NAMES;
  const users: Identity[] = names.map((name) => ({
    kind: 'User',
    name,
    upn: `${name
      .normalize('NFD')
      .replace(/[^A-Za-z ]/g, '')
      .toLowerCase()
      .replace(/ /g, '.')}@contoso.example`,
    appId: 'c44b4083-3bb0-49c1-b47d-974e53cbdf3c',
    objectId: guid(rand),
    ip: `203.0.113.${Math.floor(rand() * 250) + 1}`,
  }));
  const apps: Identity[] = APPS.map((name) => ({
    kind: 'ServicePrincipal',
    name,
    upn: '',
    appId: guid(rand),
    objectId: guid(rand),
    ip: `198.51.100.${Math.floor(rand() * 250) + 1}`,
  }));
  return [...users, ...apps];
}

interface OperationSpec {
  readonly op: string;
  readonly type: string;
  readonly category: 'Administrative' | 'Policy' | 'ResourceHealth' | 'ServiceHealth' | 'Alert' | 'Autoscale';
}

const BENIGN_OPERATIONS: readonly (readonly [OperationSpec, number])[] = [
  [
    {
      op: 'Microsoft.Compute/virtualMachines/write',
      type: 'Microsoft.Compute/virtualMachines',
      category: 'Administrative',
    },
    8,
  ],
  [
    {
      op: 'Microsoft.Compute/virtualMachines/start/action',
      type: 'Microsoft.Compute/virtualMachines',
      category: 'Administrative',
    },
    4,
  ],
  [
    {
      op: 'Microsoft.Compute/virtualMachines/deallocate/action',
      type: 'Microsoft.Compute/virtualMachines',
      category: 'Administrative',
    },
    3,
  ],
  [
    {
      op: 'Microsoft.Compute/virtualMachineScaleSets/write',
      type: 'Microsoft.Compute/virtualMachineScaleSets',
      category: 'Administrative',
    },
    5,
  ],
  [
    {
      op: 'Microsoft.Storage/storageAccounts/listKeys/action',
      type: 'Microsoft.Storage/storageAccounts',
      category: 'Administrative',
    },
    10,
  ],
  [
    {
      op: 'Microsoft.Storage/storageAccounts/write',
      type: 'Microsoft.Storage/storageAccounts',
      category: 'Administrative',
    },
    3,
  ],
  [
    {
      op: 'Microsoft.Resources/deployments/write',
      type: 'Microsoft.Resources/deployments',
      category: 'Administrative',
    },
    6,
  ],
  [
    {
      op: 'Microsoft.Resources/deployments/validate/action',
      type: 'Microsoft.Resources/deployments',
      category: 'Administrative',
    },
    3,
  ],
  [
    {
      op: 'Microsoft.Authorization/roleAssignments/write',
      type: 'Microsoft.Authorization/roleAssignments',
      category: 'Administrative',
    },
    2,
  ],
  [
    { op: 'Microsoft.KeyVault/vaults/write', type: 'Microsoft.KeyVault/vaults', category: 'Administrative' },
    2,
  ],
  [{ op: 'Microsoft.Web/sites/write', type: 'Microsoft.Web/sites', category: 'Administrative' }, 4],
  [{ op: 'Microsoft.Web/sites/restart/action', type: 'Microsoft.Web/sites', category: 'Administrative' }, 2],
  [
    {
      op: 'Microsoft.Sql/servers/databases/write',
      type: 'Microsoft.Sql/servers/databases',
      category: 'Administrative',
    },
    2,
  ],
  [
    {
      op: 'Microsoft.ContainerService/managedClusters/listClusterUserCredential/action',
      type: 'Microsoft.ContainerService/managedClusters',
      category: 'Administrative',
    },
    6,
  ],
  [
    {
      op: 'Microsoft.Network/networkSecurityGroups/write',
      type: 'Microsoft.Network/networkSecurityGroups',
      category: 'Administrative',
    },
    3,
  ],
  [
    {
      op: 'Microsoft.Network/networkInterfaces/write',
      type: 'Microsoft.Network/networkInterfaces',
      category: 'Administrative',
    },
    3,
  ],
  [
    {
      op: 'Microsoft.Network/publicIPAddresses/write',
      type: 'Microsoft.Network/publicIPAddresses',
      category: 'Administrative',
    },
    2,
  ],
  [
    {
      op: 'Microsoft.Network/networkWatchers/write',
      type: 'Microsoft.Network/networkWatchers',
      category: 'Administrative',
    },
    1,
  ],
  [
    {
      op: 'Microsoft.Network/networkWatchers/flowLogs/write',
      type: 'Microsoft.Network/networkWatchers/flowLogs',
      category: 'Administrative',
    },
    1,
  ],
  [
    {
      op: 'Microsoft.Insights/diagnosticSettings/write',
      type: 'Microsoft.Insights/diagnosticSettings',
      category: 'Administrative',
    },
    2,
  ],
  [
    {
      op: 'Microsoft.Authorization/policies/audit/action',
      type: 'Microsoft.Storage/storageAccounts',
      category: 'Policy',
    },
    9,
  ],
  [
    {
      op: 'Microsoft.Authorization/policies/auditIfNotExists/action',
      type: 'Microsoft.Compute/virtualMachines',
      category: 'Policy',
    },
    4,
  ],
  [
    {
      op: 'Microsoft.Resourcehealth/healthevent/Updated/action',
      type: 'Microsoft.Compute/virtualMachines',
      category: 'ResourceHealth',
    },
    4,
  ],
  [
    {
      op: 'Microsoft.ServiceHealth/incident/action',
      type: 'Microsoft.Resources/subscriptions',
      category: 'ServiceHealth',
    },
    1,
  ],
  [
    {
      op: 'Microsoft.Insights/metricAlerts/Activated/action',
      type: 'Microsoft.Insights/metricAlerts',
      category: 'Alert',
    },
    2,
  ],
  [
    {
      op: 'Microsoft.Insights/AutoscaleSettings/Scaleup/Action',
      type: 'Microsoft.Insights/autoscaleSettings',
      category: 'Autoscale',
    },
    1,
  ],
];

/** The documented capture-starting operations (Microsoft.Network permissions list), in the casing the portal logs them. */
const CAPTURE_OPERATIONS: readonly OperationSpec[] = [
  {
    op: 'Microsoft.Network/networkWatchers/packetCaptures/write',
    type: 'Microsoft.Network/networkWatchers/packetCaptures',
    category: 'Administrative',
  },
  {
    op: 'Microsoft.Network/virtualNetworkGateways/startPacketCapture/action',
    type: 'Microsoft.Network/virtualNetworkGateways',
    category: 'Administrative',
  },
  {
    op: 'Microsoft.Network/connections/startPacketCapture/action',
    type: 'Microsoft.Network/connections',
    category: 'Administrative',
  },
  {
    op: 'Microsoft.Network/vpnGateways/startPacketCapture/action',
    type: 'Microsoft.Network/vpnGateways',
    category: 'Administrative',
  },
  {
    op: 'Microsoft.Network/vpnGateways/vpnConnections/startPacketCapture/action',
    type: 'Microsoft.Network/vpnGateways/vpnConnections',
    category: 'Administrative',
  },
  {
    op: 'Microsoft.Network/azureFirewalls/packetCapture/action',
    type: 'Microsoft.Network/azureFirewalls',
    category: 'Administrative',
  },
  {
    op: 'Microsoft.Network/virtualNetworkTaps/write',
    type: 'Microsoft.Network/virtualNetworkTaps',
    category: 'Administrative',
  },
  {
    op: 'Microsoft.Network/networkInterfaces/tapConfigurations/write',
    type: 'Microsoft.Network/networkInterfaces/tapConfigurations',
    category: 'Administrative',
  },
];

/** Capture-related operations that are not a start: the body must be parsed, but nothing alerts. */
const NEAR_MISS_OPERATIONS: readonly OperationSpec[] = [
  {
    op: 'Microsoft.Network/networkWatchers/packetCaptures/read',
    type: 'Microsoft.Network/networkWatchers/packetCaptures',
    category: 'Administrative',
  },
  {
    op: 'Microsoft.Network/networkWatchers/packetCaptures/queryStatus/action',
    type: 'Microsoft.Network/networkWatchers/packetCaptures',
    category: 'Administrative',
  },
  {
    op: 'Microsoft.Network/virtualNetworkGateways/stopPacketCapture/action',
    type: 'Microsoft.Network/virtualNetworkGateways',
    category: 'Administrative',
  },
  {
    op: 'Microsoft.Network/virtualNetworkTaps/read',
    type: 'Microsoft.Network/virtualNetworkTaps',
    category: 'Administrative',
  },
];

function resourceId(rand: Rand, type: string): string {
  const [ns, ...types] = type.split('/');
  let path = `/subscriptions/${pick(rand, SUBSCRIPTIONS)}/resourceGroups/${pick(rand, GROUPS)}`;
  if (ns === 'Microsoft.Resources' && types[0] === 'subscriptions') return path;
  path += `/providers/${ns}`;
  for (const t of types) path += `/${t}/${t.replace(/s$/, '').toLowerCase().slice(0, 6)}-${hex(rand, 4)}`;
  return path;
}

const RESULTS_ADMIN: readonly (readonly [string, number])[] = [
  ['Start', 40],
  ['Accept', 8],
  ['Success', 44],
  ['Failure', 8],
];

function isoTime(base: number, offsetMs: number, rand: Rand): string {
  // Activity Log times carry 7 fractional digits.
  return new Date(base + offsetMs)
    .toISOString()
    .replace(/\.(\d{3})Z$/, `.$1${hex(rand, 4).replace(/[a-f]/g, '7')}Z`);
}

interface RecordInput {
  readonly spec: OperationSpec;
  readonly resultType: string;
  readonly who: Identity;
  readonly resourceId: string;
  readonly correlationId: string;
  readonly time: string;
  readonly location: string;
  readonly requestBody?: string;
}

function claims(rand: Rand, who: Identity): Record<string, string> {
  const c: Record<string, string> = {
    aud: 'https://management.core.windows.net/',
    appid: who.appId,
    'http://schemas.microsoft.com/identity/claims/objectidentifier': who.objectId,
    ipaddr: who.ip,
  };
  if (who.kind === 'User') {
    c['http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn'] = who.upn;
    c.name = who.name;
  }
  return c;
}

function record(rand: Rand, r: RecordInput): Record<string, unknown> {
  const { spec } = r;
  const properties: Record<string, unknown> = {
    eventCategory: spec.category,
    message: spec.op,
  };
  const out: Record<string, unknown> = {
    time: r.time,
    resourceId: r.resourceId.toUpperCase(),
    operationName: spec.op.toUpperCase(),
    category: spec.category,
    resultType: r.resultType,
    resultSignature:
      { Start: 'Started.', Accept: 'Accepted.Created', Success: 'Succeeded.OK', Failure: 'Failed.Conflict' }[
        r.resultType
      ] ?? '',
    durationMs: r.resultType === 'Start' ? '0' : String(Math.floor(rand() * 5000)),
    callerIpAddress: r.who.ip,
    correlationId: r.correlationId,
  };
  if (spec.category === 'Administrative' || spec.category === 'Policy') {
    out.identity = {
      authorization: {
        scope: r.resourceId,
        action: spec.category === 'Policy' ? 'Microsoft.Storage/storageAccounts/write' : spec.op,
        evidence: {
          role: pick(rand, ['Owner', 'Contributor', 'Network Contributor', 'Storage Account Contributor']),
          principalType: r.who.kind,
        },
      },
      claims: claims(rand, r.who),
    };
    properties.statusCode = { Start: 'Started', Accept: 'Accepted', Success: 'OK', Failure: 'Conflict' }[
      r.resultType
    ];
    properties.serviceRequestId = guid(rand);
  }
  if (spec.category === 'Policy') {
    properties.isComplianceCheck = 'False';
    properties.resourceLocation = r.location;
    properties.ancestors = TENANT;
    properties.policies = JSON.stringify([
      {
        policyDefinitionId: `/providers/Microsoft.Authorization/policyDefinitions/${guid(rand)}`,
        policyDefinitionReferenceId: 'storageAccountsShouldRestrictNetworkAccess',
        policyDefinitionEffect: 'Audit',
        policyAssignmentId: `/subscriptions/${r.resourceId.split('/')[2] ?? ''}/providers/Microsoft.Authorization/policyAssignments/SecurityCenterBuiltIn`,
        policyAssignmentName: 'SecurityCenterBuiltIn',
      },
    ]);
  }
  if (spec.category === 'ResourceHealth') {
    properties.title = 'Virtual machine is unavailable';
    properties.details =
      "We're sorry, your virtual machine isn't available because of connectivity loss to the host & the VM was rebooted.";
    properties.currentHealthStatus = pick(rand, ['Available', 'Unavailable', 'Degraded']);
    properties.previousHealthStatus = 'Available';
    properties.type = 'Downtime';
    properties.cause = 'PlatformInitiated';
  }
  if (spec.category === 'ServiceHealth') {
    properties.title = 'Mitigated - Networking issue in West Europe';
    properties.service = 'Virtual Network';
    properties.region = 'West Europe';
    properties.communication =
      "Between 08:10 and 09:25 UTC, a subset of customers in West Europe experienced intermittent connectivity. We've mitigated the issue & will publish a Post Incident Review.";
    properties.incidentType = 'Incident';
    properties.trackingId = hex(rand, 7).toUpperCase();
    properties.impactStartTime = r.time;
  }
  if (spec.category === 'Alert' || spec.category === 'Autoscale') {
    properties.RuleName = pick(rand, ['cpu-high', 'memory-pressure', 'scale-out-web']);
    properties.Threshold = '80';
    properties.WindowSizeInMinutes = '5';
    properties.Aggregation = 'Average';
    properties.Operator = 'GreaterThan';
  }
  if (r.resultType === 'Failure') {
    properties.statusMessage = JSON.stringify({
      error: {
        code: 'Conflict',
        message: `Operation 'write' on resource '${r.resourceId.split('/').pop() ?? ''}' is not allowed while another operation is in progress. Retry after the previous operation completes & the resource is 'Succeeded'.`,
      },
    });
  }
  if (r.requestBody !== undefined) properties.requestbody = r.requestBody;
  out.level = r.resultType === 'Failure' ? 'Error' : 'Information';
  out.location = r.location;
  out.properties = properties;
  out.tenantId = TENANT;
  return out;
}

function captureRequestBody(rand: Rand, spec: OperationSpec, storage: string): string {
  if (spec.op.endsWith('packetCaptures/write')) {
    return JSON.stringify({
      properties: {
        target: `/subscriptions/${SUBSCRIPTIONS[0]}/resourceGroups/rg-app-prod/providers/Microsoft.Compute/virtualMachines/vm-${hex(rand, 4)}`,
        bytesToCapturePerPacket: 0,
        totalBytesPerSession: 1073741824,
        timeLimitInSeconds: 18000,
        storageLocation: {
          storageId: storage,
          storagePath: `https://stcaptures.blob.core.windows.net/captures/${hex(rand, 6)}.cap`,
        },
        filters: [{ protocol: 'TCP', localPort: '443' }],
      },
    });
  }
  return JSON.stringify({
    filterData: '{"TracingFlags":11,"MaxPacketBufferSize":120,"MaxFileSize":200}',
    sasUrl: 'https://stcaptures.blob.core.windows.net/captures?sv=2022-11-02&sig=REDACTME',
  });
}

/** One operation as the Activity Log writes it: Start, then Accept/Success/Failure, one correlation id. */
function operationRecords(
  rand: Rand,
  spec: OperationSpec,
  who: Identity,
  base: number,
  results: readonly string[],
  requestBody?: string,
): Record<string, unknown>[] {
  const rid = resourceId(rand, spec.type);
  const correlationId = guid(rand);
  const location = pick(rand, LOCATIONS);
  return results.map((resultType, i) =>
    record(rand, {
      spec,
      resultType,
      who,
      resourceId: rid,
      correlationId,
      time: isoTime(base, i * 1500 + Math.floor(rand() * 1000), rand),
      location,
      requestBody: resultType === 'Start' ? requestBody : undefined,
    }),
  );
}

/** The .NET serializer's escaping, which Azure's exporter uses: harmless for JSON, relevant to byte scans. */
function dotnetEscape(json: string): string {
  return json.replace(/'/g, '\\u0027').replace(/&/g, '\\u0026');
}

export function generateCorpus(options: CorpusOptions): Corpus {
  const rand = prng(options.seed);
  const people = identities(rand, options.foldingNames);
  const base = Date.UTC(2025, 11, 22, 0, 0, 0);
  const bodies: Buffer[] = [];
  let bytes = 0;
  let records = 0;
  let expectedAlerts = 0;
  let matchingBodies = 0;
  let nearMissBodies = 0;
  for (let b = 0; b < options.bodies; b++) {
    const recs: Record<string, unknown>[] = [];
    const t0 = base + b * 60_000;
    const special: Record<string, unknown>[][] = [];
    if (options.matchEvery > 0 && b % options.matchEvery === Math.floor(options.matchEvery / 2)) {
      const spec = CAPTURE_OPERATIONS[b % CAPTURE_OPERATIONS.length]!;
      const storage = `/subscriptions/${SUBSCRIPTIONS[0]}/resourceGroups/rg-diag/providers/Microsoft.Storage/storageAccounts/stcap${hex(rand, 4)}`;
      special.push(
        operationRecords(
          rand,
          spec,
          pick(rand, people),
          t0,
          ['Start', 'Success'],
          captureRequestBody(rand, spec, storage),
        ),
      );
      expectedAlerts++;
      matchingBodies++;
    }
    if (options.nearMissEvery > 0 && b % options.nearMissEvery === 1) {
      special.push(
        operationRecords(rand, pick(rand, NEAR_MISS_OPERATIONS), pick(rand, people), t0, [
          'Start',
          'Success',
        ]),
      );
      nearMissBodies++;
    }
    const specialCount = special.reduce((s, r) => s + r.length, 0);
    while (recs.length < options.recordsPerBody - specialCount) {
      const spec = weighted(rand, BENIGN_OPERATIONS);
      const results =
        spec.category === 'Administrative'
          ? [weighted(rand, RESULTS_ADMIN)]
          : spec.category === 'ResourceHealth' || spec.category === 'Alert'
            ? ['Active']
            : ['Success'];
      const expanded = results[0] === 'Start' ? ['Start', rand() < 0.85 ? 'Success' : 'Failure'] : results;
      for (const rec of operationRecords(rand, spec, pick(rand, people), t0 + recs.length * 250, expanded)) {
        if (recs.length < options.recordsPerBody - specialCount) recs.push(rec);
      }
    }
    // Special operations land at random positions, as they would in a real stream.
    for (const group of special) recs.splice(Math.floor(rand() * (recs.length + 1)), 0, ...group);
    const body = Buffer.from(dotnetEscape(JSON.stringify({ records: recs })), 'utf8');
    bodies.push(body);
    bytes += body.length;
    records += recs.length;
  }
  return { bodies, bytes, records, expectedAlerts, matchingBodies, nearMissBodies };
}
