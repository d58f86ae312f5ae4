import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ASCII_FOLDING_CHARACTERS,
  buildPrefilter,
  deriveNeedles,
  prefilterFor,
  protectedIdNeedle,
} from '../../src/detect/prefilter';
import { OPERATION_FIELDS } from '../../src/normalize/shapes';
import { RULES } from '../../src/detect/registry';
import type { DetectionRule } from '../../src/detect/types';
import { detectBatch } from '../../src/pipeline/detectBatch';
import { FIXTURE_CONTEXT } from './fixtureIndex';

const samples = join(__dirname, '../../samples');
const prefilter = prefilterFor(RULES);
const NOW = new Date('2026-01-01T00:00:00Z');

function record(operationName: unknown, resultType = 'Success'): Record<string, unknown> {
  return {
    time: '2025-12-22T10:30:00.0000000Z',
    resourceId: '/SUBSCRIPTIONS/00000000-0000-0000-0000-0000000000AA/RESOURCEGROUPS/RG/PROVIDERS/X/Y/Z',
    operationName,
    category: 'Administrative',
    resultType,
    correlationId: '11111111-2222-3333-4444-555555555555',
    location: 'eastus',
  };
}

const benign = JSON.stringify({
  records: [
    record('MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE'),
    record('Microsoft.Storage/storageAccounts/listKeys/action'),
  ],
});

/** A body whose only capture-starting record spells its operation with `spelled`. */
const captureBody = (spelled: string) =>
  `{"records":[${JSON.stringify(record('X'))},${JSON.stringify(record('X')).replace('"X"', `"${spelled}"`)}]}`;

/** The rules whose needles come from their operation patterns (no resource scope). */
const UNSCOPED = RULES.filter((r) => r.resourceScope === undefined);

describe('deriveNeedles', () => {
  it('takes the specific segment of each pattern and keeps the shortest of nested ones', () => {
    expect(deriveNeedles(UNSCOPED.flatMap((r) => r.operationPatterns.map((p) => p.pattern)))).toEqual([
      'PACKETCAPTURE',
      'TAPCONFIGURATIONS',
      'VIRTUALNETWORKTAPS',
    ]);
  });

  it("would be unselective for the integrity rules' operations: why their needles come from their scope", () => {
    const scoped = RULES.filter((r) => r.resourceScope !== undefined);
    const needles = deriveNeedles(scoped.flatMap((r) => r.operationPatterns.map((p) => p.pattern))) ?? [];
    // Words in almost every Activity Log body (web apps, storage keys, diagnostic settings everywhere).
    expect(needles).toEqual(expect.arrayContaining(['SITES', 'LISTKEYS', 'STOP', 'DIAGNOSTICSETTINGS']));
  });

  it('yields needles that every unscoped pattern contains, made of letters and digits only', () => {
    for (const rule of UNSCOPED) {
      for (const { pattern } of rule.operationPatterns) {
        expect(prefilter.needles.some((n) => pattern.includes(n))).toBe(true);
      }
    }
    for (const n of prefilter.needles) expect(n).toMatch(/^[A-Z0-9]+$/);
  });

  it("takes the scoped rules' needles from the protected ids and the subscription-level type", () => {
    expect(prefilter.needles).toEqual([
      'PACKETCAPTURE',
      'TAPCONFIGURATIONS',
      'VIRTUALNETWORKTAPS',
      'DIAGNOSTICSETTINGS',
    ]);
    expect(prefilter.confirmedNeedles).toEqual(['DIAGNOSTICSETTINGS']);
    const scoped = prefilterFor(RULES, FIXTURE_CONTEXT);
    // Lengthened to 13 characters with what precedes them, so that the scan keeps its stride.
    expect(scoped.needles).toEqual([
      'PACES/LOG-SOC',
      'PACKETCAPTURE',
      'S/RG-PCD-PROD',
      'TAPCONFIGURATIONS',
      'VIRTUALNETWORKTAPS',
      'DIAGNOSTICSETTINGS',
    ]);
    // Built once per rule set and protected scope, however the ids are spelled.
    expect(
      prefilterFor(RULES, {
        protectedResourceIds: FIXTURE_CONTEXT.protectedResourceIds.map((id) => id.toLowerCase()),
      }),
    ).toBe(scoped);
    expect(protectedIdNeedle('/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG_(X).1')).toBe('OUPS/RG_(X).1');
    expect(protectedIdNeedle('/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG-CAFÉ')).toBe('GROUPS/RG-CAF');
    expect(protectedIdNeedle('/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG-PACKET-CAPTURE-PROD')).toBe(
      'RG-PACKET-CAPTURE-PROD',
    );
    expect(protectedIdNeedle('/SUBSCRIPTIONS/S')).toBe('BSCRIPTIONS/S');
    // An id inside another protected id adds no needle.
    expect(
      prefilterFor(RULES, {
        protectedResourceIds: [
          '/subscriptions/s/resourceGroups/rg-a',
          '/subscriptions/s/resourceGroups/rg-a/providers/x/y/ws-b',
        ],
      }).needles.filter((n) => n.includes('/')),
    ).toEqual(['RESOURCEGROUPS/RG-A'.slice(-13)]);
  });

  it('tells a subscription-level diagnostic setting from a resource one by the text before the needle', () => {
    const body = (id: string) => `{"records":[{"operationName":"x","resourceId":"${id}"}]}`;
    const at = (p: string) => prefilter.classify(Buffer.from(body(p)));
    expect(at('/SUBSCRIPTIONS/S/PROVIDERS/MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/D')).toBe('needle');
    expect(at(' /subscriptions/s/providers/Microsoft.Insights/diagnosticSettings/d')).toBe('needle');
    expect(at('/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/D')).toBe(
      'skip',
    );
    expect(at('/SUBSCRIPTIONS/S/PROVIDERS/MICROSOFT.WEB/DIAGNOSTICSETTINGS/D')).toBe('skip');
    // A slash written as \\/ could hide a scope needle: such a body is parsed.
    expect(prefilterFor(RULES, FIXTURE_CONTEXT).classify(Buffer.from(body('\\/X')))).toBe('escape');
    expect(at('\\/X')).toBe('skip');
    // Escapes are not decoded: an escaped string before the needle counts as a match.
    expect(
      at('\\/SUBSCRIPTIONS\\/S\\/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/D'),
    ).toBe('needle');
  });

  it('falls back to the longest run when the segment has none, and gives up when no pattern has one', () => {
    expect(deriveNeedles(['A.B/--/WRITE'])).toEqual(['WRITE']);
    expect(deriveNeedles(['single'])).toEqual(['SINGLE']);
    expect(deriveNeedles(['X/Y/Z', '/./'])).toBeUndefined();
  });
});

describe('ASCII_FOLDING_CHARACTERS', () => {
  it('lists every non-ASCII code point whose case mapping holds ASCII letters or digits', () => {
    const found: string[] = [];
    for (let cp = 0x80; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      if (/[A-Za-z0-9]/.test(ch.toUpperCase()) || /[A-Za-z0-9]/.test(ch.toLowerCase())) found.push(ch);
    }
    expect(found.join('')).toBe(ASCII_FOLDING_CHARACTERS);
  });
});

describe('prefilter.classify', () => {
  it('skips a benign, well-framed body in every raw form', () => {
    const bytes = Buffer.from(benign);
    expect(prefilter.classify(bytes)).toBe('skip');
    expect(prefilter.classify(benign)).toBe('skip');
    expect(prefilter.classify(new Uint8Array(bytes))).toBe('skip');
    expect(prefilter.classify(new Uint8Array(bytes).buffer)).toBe('skip');
    expect(prefilter.classify(`\uFEFF \n${benign}\r\n`)).toBe('skip');
    expect(prefilter.classify(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]))).toBe('skip');
  });

  it('passes already-parsed bodies through untouched', () => {
    expect(prefilter.classify(JSON.parse(benign))).toBe('notRaw');
    expect(prefilter.mayContainMatch({ records: [] })).toBe(true);
  });

  it.each([
    ['upper case', 'MICROSOFT.NETWORK/NETWORKWATCHERS/PACKETCAPTURES/WRITE'],
    ['documented case', 'Microsoft.Network/networkWatchers/packetCaptures/write'],
    ['random case', 'mIcRoSoFt.NeTwOrK/vIrTuAlNeTwOrKtApS/WrItE'],
    ['escaped slashes', 'MICROSOFT.NETWORK\\/NETWORKINTERFACES\\/TAPCONFIGURATIONS\\/WRITE'],
  ])('finds a needle spelled in %s', (_name, spelled) => {
    expect(prefilter.classify(captureBody(spelled))).toBe('needle');
    expect(prefilter.classify(Buffer.from(captureBody(spelled)))).toBe('needle');
  });

  it.each([
    ['a letter', 'MICROSOFT.NETWORK/NETWORKWATCHERS/\\u0050ACKETCAPTURES/WRITE'],
    [
      'a lower-case letter, lower-case hex',
      'Microsoft.Network/virtualNetworkTaps/\\u0077rite'.replace('Taps', 'T\\u0061ps'),
    ],
    ['a dotless i', 'Microsoft.Network/v\\u0131rtualNetworkTaps/write'],
  ])('sends a body with a \\u escape of %s to the parser', (_name, spelled) => {
    expect(prefilter.classify(captureBody(spelled))).toBe('escape');
    expect(prefilter.classify(Buffer.from(captureBody(spelled)))).toBe('escape');
  });

  it('ignores escapes that cannot spell a needle (the exporter writes quotes as \\u0027)', () => {
    const body = benign.replace('listKeys', 'list\\u0027Keys\\u0026\\u003c\\u002F');
    expect(prefilter.classify(body)).toBe('skip');
    expect(prefilter.classify(Buffer.from(body))).toBe('skip');
  });

  it('parses rather than inspects a body dense with escapes or folding characters', () => {
    const escapes = benign.replace('eastus', '\\u0027'.repeat(5000));
    expect(prefilter.classify(escapes)).toBe('escape');
    expect(prefilter.classify(Buffer.from(escapes))).toBe('escape');
    const names = benign.replace('eastus', 'Groß '.repeat(100));
    expect(prefilter.classify(names)).toBe('fold');
    expect(prefilter.classify(Buffer.from(names))).toBe('fold');
    const few = benign.replace('eastus', 'Groß '.repeat(10));
    expect(prefilter.classify(few)).toBe('skip');
    expect(prefilter.classify(Buffer.from(few))).toBe('skip');
  });

  it('sends a malformed \\u escape to the parser', () => {
    expect(prefilter.classify(benign.replace('listKeys', 'list\\uZZ'))).toBe('escape');
  });

  it.each([
    ['long s', 'Microsoft.Network/virtualNetworkTap\u017f/write'],
    ['dotless i', 'Microsoft.Network/v\u0131rtualNetworkTaps/write'],
    ['fi ligature', 'Microsoft.Network/networkInterfaces/tapCon\ufb01gurations/write'],
    ['st ligature', 'Microsoft.Network/connections/\ufb06artPacketCapture/action'],
  ])('finds a needle written with a %s, which the rule upper-cases to ASCII', (_name, spelled) => {
    const body = captureBody(spelled);
    const verdict = prefilter.classify(body);
    expect(['needle', 'fold']).toContain(verdict);
    expect(prefilter.classify(Buffer.from(body))).toBe(verdict);
    // And the rule does alert on it: skipping would have lost an alert.
    expect(detectBatch([Buffer.from(body)], () => ({}), { now: NOW }).alerts).toHaveLength(1);
  });

  it('is conservative with characters that upper-case to several letters', () => {
    // "TAPCONFIGURATIONß" upper-cases to "TAPCONFIGURATIONSS": it holds the needle, though no pattern.
    expect(prefilter.classify(captureBody('x/tapConfiguration\u00df/y'))).toBe('fold');
    expect(prefilter.classify(Buffer.from(captureBody('x/tapConfiguration\u00df/y')))).toBe('fold');
  });

  it('uses the fold check only when a folding character sits inside a needle', () => {
    const named = benign.replace('eastus', 'Jürgen Groß, Aylin Işık');
    expect(prefilter.classify(named)).toBe('skip');
    expect(prefilter.classify(Buffer.from(named))).toBe('skip');
    const folded = captureBody('Microsoft.Network/v\u0131rtualNetworkTaps/write');
    expect(prefilter.classify(folded)).toBe('fold');
    expect(prefilter.classify(Buffer.from(folded))).toBe('fold');
  });

  it.each([
    ['empty', ''],
    ['blank', ' \n'],
    ['truncated', benign.slice(0, 100)],
    ['not JSON', 'hello'],
    ['mismatched brackets', `[${benign}}`],
    ['a JSON string', '"records"'],
    ['UTF-16', Buffer.from(benign, 'utf16le')],
  ])('parses a body that is not framed like JSON (%s), so the decoder reports it', (_name, body) => {
    expect(prefilter.classify(body)).toBe('frame');
  });

  it('parses a framed body that names no operation field, so its records are reported', () => {
    expect(prefilter.classify('{"records":[{"foo":1}]}')).toBe('noOperationField');
    expect(prefilter.classify(Buffer.from('{"hello":"world"}'))).toBe('noOperationField');
  });

  it('recognizes the operation field of every shape normalize reads', () => {
    for (const field of OPERATION_FIELDS) {
      expect(prefilter.classify(`{"records":[{"${field}":"MICROSOFT.WEB/SITES/WRITE"}]}`)).toBe('skip');
    }
  });

  it('filters nothing when the rules yield no needle', () => {
    const p = buildPrefilter(['/./']);
    expect(p.needles).toEqual([]);
    expect(p.classify(benign)).toBe('unfiltered');
    expect(p.mayContainMatch(benign)).toBe(true);
  });

  it('handles one-character needles', () => {
    const p = buildPrefilter(['X/Q/Y']);
    expect(p.classify('{"operationName":"q"}')).toBe('needle');
    expect(p.classify('{"operationName":"z"}')).toBe('skip');
  });
});

describe('prefilter.recordMayMatch', () => {
  it.each([
    ['a capture operation', record('microsoft.network/networkwatchers/packetcaptures/write'), true],
    [
      'a capture operation that is not a start',
      record('MICROSOFT.NETWORK/NETWORKWATCHERS/PACKETCAPTURES/READ'),
      false,
    ],
    ['a benign operation', record('MICROSOFT.WEB/SITES/WRITE'), false],
    [
      'the REST shape',
      record({ value: 'Microsoft.Network/virtualNetworkTaps/write', localizedValue: 'x' }),
      true,
    ],
    ['the REST shape, benign', record({ value: 'Microsoft.Web/sites/write' }), false],
    ['an AzureActivity row', { OperationNameValue: 'MICROSOFT.NETWORK/VIRTUALNETWORKTAPS/WRITE' }, true],
    [
      'an AzureActivity row with the display name only',
      { OperationName: 'MICROSOFT.NETWORK/VIRTUALNETWORKTAPS/WRITE', ActivityStatusValue: 'Success' },
      true,
    ],
    // Normalization reads OperationNameValue first; the display name beside it cannot make the rule fire.
    [
      'an AzureActivity row whose display name alone names a capture',
      { OperationNameValue: 'X', OperationName: 'MICROSOFT.NETWORK/VIRTUALNETWORKTAPS/WRITE' },
      false,
    ],
    [
      'an AzureActivity row, benign',
      { OperationNameValue: 'MICROSOFT.WEB/SITES/WRITE', OperationName: 'Update website' },
      false,
    ],
    ['a numeric operation', record(42), false],
    ['no operation (normalize reports it)', { time: 'x' }, true],
    ['an operation of the wrong type (normalize reports it)', record(['MICROSOFT.WEB/SITES/WRITE']), true],
    ['a null operation', record(null), true],
    ['not an object', 7, true],
    ['null', null, true],
    ['an array', [record('x')], true],
  ] as const)('%s', (_name, rec, expected) => {
    expect(prefilter.recordMayMatch(rec)).toBe(expected);
  });
});

describe('detectBatch with the prefilter', () => {
  const capture = readFileSync(join(samples, 'capture-operations.eventhub.json'));

  it('counts skipped bodies and keeps every alert', () => {
    const messages = [Buffer.from(benign), capture, benign, Buffer.from('{"records": [')];
    const on = detectBatch(messages, () => ({}), { now: NOW });
    const off = detectBatch(messages, () => ({}), { now: NOW, prefilter: false });
    expect(on.alerts).toEqual(off.alerts);
    expect(on.alerts).toHaveLength(8);
    expect(on.malformed).toEqual(off.malformed);
    expect(on.counts).toMatchObject({ messages: 4, prefiltered: 2, malformed: 1 });
    expect(off.counts).toMatchObject({ messages: 4, prefiltered: 0, malformed: 1 });
    expect(off.counts.records - on.counts.records).toBe(4);
  });

  it('derives its needles from the rules it is given', () => {
    const rule: DetectionRule = {
      ...RULES[0]!,
      operationPatterns: [
        { pattern: 'MICROSOFT.WEB/SITES/WRITE', kind: 'NetworkWatcher', documented: true, description: '' },
      ],
      evaluate: (e) =>
        e.operationName.toUpperCase().includes('MICROSOFT.WEB/SITES/WRITE')
          ? {
              kind: 'NetworkWatcher',
              pattern: 'MICROSOFT.WEB/SITES/WRITE',
              attributes: {},
            }
          : undefined,
    };
    const body = JSON.stringify({ records: [record('Microsoft.Web/sites/write')] });
    expect(detectBatch([body], () => ({}), { rules: [rule], now: NOW }).alerts).toHaveLength(1);
    expect(detectBatch([body], () => ({}), { now: NOW }).counts.prefiltered).toBe(1);
  });

  it('reports a malformed record only when it could be a capture', () => {
    const bad = { ...record('MICROSOFT.NETWORK/VIRTUALNETWORKTAPS/WRITE'), time: { nested: true } };
    const benignBad = { ...record('MICROSOFT.WEB/SITES/WRITE'), time: { nested: true } };
    const body = Buffer.from(JSON.stringify({ records: [bad, benignBad] }));
    const on = detectBatch([body], () => ({}), { now: NOW });
    const off = detectBatch([body], () => ({}), { now: NOW, prefilter: false });
    expect(on.malformed.flatMap((m) => m.problems.map((p) => [p.code, p.record]))).toEqual([
      ['RECORD_INVALID', 0],
    ]);
    expect(off.malformed.flatMap((m) => m.problems.map((p) => [p.code, p.record]))).toEqual([
      ['RECORD_INVALID', 0],
      ['RECORD_INVALID', 1],
    ]);
    expect(on.counts.records).toBe(2);
  });
});
