import { isSecretName, redactBytes, redactSecrets, redactText, stripQuery } from '../../src/lib/redact';
import { SECRET, SECRET_FORMS } from '../support/secretForms';

const S = SECRET;

describe('redactText', () => {
  it.each(SECRET_FORMS.map((f) => [f.name, f] as const))('masks %s', (_name, form) => {
    const out = redactText(form.text);
    for (const s of form.secrets) expect(out).not.toContain(s);
    expect(out).toMatch(/REDACTED/);
  });

  it.each(SECRET_FORMS.map((f) => [f.name, f] as const))(
    'masks only the secret of %s: what follows stays',
    (_name, form) => {
      expect(redactText(`${form.text} and then, some words.`)).toMatch(/ and then, some words\.$/);
    },
  );

  it.each(SECRET_FORMS.map((f) => [f.name, f] as const))(
    'masks %s inside a JSON string (escaped once more)',
    (_name, form) => {
      const out = redactText(JSON.stringify({ value: form.text }));
      for (const s of form.secrets) expect(out).not.toContain(s);
    },
  );

  it('keeps what is not secret, and the shape around what is', () => {
    expect(redactText('https://a.blob.core.windows.net/c?sv=1&sig=abc%3D&se=2')).toBe(
      'https://a.blob.core.windows.net/c?sv=REDACTED&sig=REDACTED&se=REDACTED',
    );
    expect(redactText('Endpoint=sb://n/;SharedAccessKeyName=RootKey;SharedAccessKey=abc=')).toBe(
      'Endpoint=sb://n/;SharedAccessKeyName=RootKey;SharedAccessKey=REDACTED',
    );
    expect(redactText('{"Authorization":"Basic dXNlcjpwYXNz"}')).toBe('{"Authorization":"Basic REDACTED"}');
    expect(redactText('https://admin:pw@example.com/x')).toBe('https://admin:REDACTED@example.com/x');
    expect(redactText('{"password": 1234}')).toBe('{"password": "REDACTED"}');
    expect(redactText('{"requestbody":"{\\"password\\":\\"p\\\\\\"w\\",\\"x\\":1}"}')).toBe(
      '{"requestbody":"{\\"password\\":\\"REDACTED\\",\\"x\\":1}"}',
    );
  });

  it.each([
    'Microsoft.Network/networkWatchers/packetCaptures/write',
    '/subscriptions/0/resourceGroups/rg/providers/Microsoft.Network/virtualNetworkTaps/tap1',
    'a basic idea; the bearer of news; https://example.com:443/path?x=1',
    '{"operationName":"X","resultType":"Success","authorization":{"action":"a","scope":"/s"}}',
    'SharedAccessKeyName=RootManageSharedAccessKey; "password": null; "secret": true',
    'Line 3 is not JSON: Unexpected token } in JSON at position 12',
  ])('leaves %s unchanged', (text) => {
    expect(redactText(text)).toBe(text);
  });

  it('is idempotent', () => {
    for (const { text } of SECRET_FORMS) expect(redactText(redactText(text))).toBe(redactText(text));
  });
});

describe('isSecretName', () => {
  it.each([
    'storageAccountKey',
    'clientSecret',
    'client_secret',
    'password',
    'accountKey',
    'sasToken',
    'access_token',
    'primaryKey',
    'x-api-key',
    'connectionString',
    'SharedAccessSignature',
    'Authorization',
  ])('%s names a credential', (name) => {
    expect(isSecretName(name)).toBe(true);
  });
  it.each(['operationName', 'resourceId', 'SharedAccessKeyName', 'partitionKey', 'location', 'caller'])(
    '%s does not',
    (name) => {
      expect(isSecretName(name)).toBe(false);
    },
  );
});

describe('redactSecrets', () => {
  it('copies nested values and keeps __proto__ as data', () => {
    const input = JSON.parse('{"__proto__":{"x":"?sig=1"},"a":[{"b":"SharedAccessKey=zz"}]}') as unknown;
    const out = redactSecrets(input) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe(
      '{"__proto__":{"x":"?sig=REDACTED"},"a":[{"b":"SharedAccessKey=REDACTED"}]}',
    );
  });

  it('masks the values of credential fields whole, and descends into objects under such names', () => {
    const out = redactSecrets({
      storageAccountKey: 'k1',
      nested: { clientSecret: 's1', password: 42, authorization: { action: 'write', token: 't1' } },
      headers: { Authorization: 'Bearer abcdefgh', 'x-api-key': 'k2' },
      ok: 'plain',
      empty: { password: '' },
    });
    expect(out).toEqual({
      storageAccountKey: 'REDACTED',
      nested: {
        clientSecret: 'REDACTED',
        password: 'REDACTED',
        authorization: { action: 'write', token: 'REDACTED' },
      },
      headers: { Authorization: 'Bearer REDACTED', 'x-api-key': 'REDACTED' },
      ok: 'plain',
      empty: { password: '' },
    });
  });
});

describe('redactBytes', () => {
  it('redacts UTF-8 text as text', () => {
    const r = redactBytes(Buffer.from(`{"password":"${S}"}`));
    expect(r.text).toBe('{"password":"REDACTED"}');
    expect(r.views).toEqual(['utf8']);
    expect(r.changed).toBe(true);
  });

  it('redacts bytes that are not UTF-8 in their Latin-1 view, keeping every other byte', () => {
    const input = Buffer.concat([
      Buffer.from([0xff, 0xc3, 0x28]),
      Buffer.from(`x?sig=${S}&y`),
      Buffer.from([0x80]),
    ]);
    const r = redactBytes(input);
    expect(r.text).toBeUndefined();
    expect(r.views).toEqual(['latin1']);
    expect(r.bytes.toString('latin1')).not.toContain(S);
    expect([...r.bytes.subarray(0, 3)]).toEqual([0xff, 0xc3, 0x28]);
    expect(r.bytes[r.bytes.length - 1]).toBe(0x80);
    expect(r.bytes.toString('latin1')).toContain('x?sig=REDACTED&y');
  });

  it.each(['utf16le', 'utf16be'] as const)('redacts %s text (which can also pass for UTF-8)', (encoding) => {
    let bytes = Buffer.from(`{"clientSecret":"${S}"} sig=${S}`, 'utf16le');
    if (encoding === 'utf16be') bytes = Buffer.from(bytes).swap16();
    const afterOddPrefix = Buffer.concat([Buffer.from([0xfe]), bytes]);
    for (const input of [bytes, afterOddPrefix]) {
      const r = redactBytes(input);
      const views = [0, 1].flatMap((offset) => {
        const units = r.bytes.subarray(offset, offset + Math.floor((r.bytes.length - offset) / 2) * 2);
        return [units.toString('utf16le'), Buffer.from(units).swap16().toString('utf16le')];
      });
      for (const text of [...views, r.bytes.toString('latin1')]) expect(text).not.toContain(S);
      expect(views.some((t) => t.includes('"clientSecret":"REDACTED"'))).toBe(true);
      expect(r.changed).toBe(true);
    }
  });

  it('returns the very bytes when there is nothing to mask', () => {
    const input = Buffer.from([0xff, 0x00, 0x41, 0x00]);
    expect(redactBytes(input).bytes).toBe(input);
    expect(redactBytes(input).changed).toBe(false);
  });
});

describe('stripQuery', () => {
  it.each([
    ['https://a/b?sig=1', 'https://a/b'],
    ['https://a/b#x?y', 'https://a/b'],
    ['https://a/b', 'https://a/b'],
  ])('%s → %s', (url, expected) => {
    expect(stripQuery(url)).toBe(expected);
  });
});
