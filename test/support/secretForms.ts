/**
 * Every secret form the detector must not copy into a row, a log line, a dead letter or a message, in each
 * way it can be written: plainly, URL-encoded, JSON-escaped (once and twice). `S` is the secret in each
 * (letters and digits only, so that every form can carry it).
 */
export const SECRET = 'S3cr3tV4lue0123456789';

export interface SecretForm {
  readonly name: string;
  readonly text: string;
  /** What must not appear in any output: the secret, as the form writes it. */
  readonly secrets: readonly string[];
}

/** The forms carrying secret `S` (letters and digits; a different one per form keeps findings apart). */
export function secretForms(S: string): SecretForm[] {
  const digits = `98765${S.replace(/\D/g, '')}`;
  const basic = Buffer.from(`user:${S}`).toString('base64');
  const basicAnywhere = Buffer.from(`u:${S}`).toString('base64');
  const forms: (readonly [string, string])[] = [
    ['SAS after ?', `https://a.blob.core.windows.net/c/x.cap?sv=2022-11-02&sig=${S}`],
    ['SAS after &', `https://a.blob.core.windows.net/c?sp=r&sig=${S}&se=2030-01-01`],
    ['sig= without ? or &', `token sig=${S} rest`],
    ['sig= after ;', `SharedAccessSignature sr=x;sig=${S};se=1`],
    ['URL-encoded %26sig%3D', `https%3A%2F%2Fa.blob.core.windows.net%2Fc%3Fsv%3D1%26sig%3D${S}%26se%3D1`],
    ['URL-encoded %3Fsig%3D', `https%3A%2F%2Fa.blob.core.windows.net%2Fc%3Fsig%3D${S}`],
    ['URL-encoded twice', `x%253Fsv%253D1%2526sig%253D${S}%2526se%253D1`],
    ['JSON \\u0026sig=', `https://a.blob.core.windows.net/c?sv=1\\u0026sig=${S}\\u0026se=1`],
    [
      '?sig= inside a resourceId',
      `/subscriptions/0/resourceGroups/rg/providers/Microsoft.Storage/x?sig=${S}`,
    ],
    ['AccountKey= (connection string)', `DefaultEndpointsProtocol=https;AccountName=a;AccountKey=${S}==;`],
    ['SharedAccessKey= (connection string)', `Endpoint=sb://n/;SharedAccessKeyName=k;SharedAccessKey=${S}=`],
    ['Password= (connection string)', `Server=tcp:s;User ID=u;Password=${S};Encrypt=True`],
    ['"storageAccountKey" (JSON)', `{"storageAccountKey": "${S}"}`],
    ['"clientSecret" (JSON)', `{"clientSecret":"${S}","clientId":"x"}`],
    ['"password" (JSON)', `{"password":"${S}"}`],
    ['"accountKey" (JSON)', `{"accountKey":"${S}"}`],
    ['"sasToken" (JSON)', `{"sasToken":"?sv=1&${S}"}`],
    ['"connectionString" (JSON)', `{"connectionString":"Endpoint=x;${S}"}`],
    ['"password" as a number', `{"password": ${digits}}`],
    ['JSON-escaped field', `{"requestbody":"{\\"password\\":\\"${S}\\",\\"x\\":1}"}`],
    ['JSON-escaped twice', `"{\\"a\\":\\"{\\\\\\"clientSecret\\\\\\":\\\\\\"${S}\\\\\\"}\\"}"`],
    ['Bearer', `Authorization: Bearer ${S}`],
    ['lower-case bearer', `authorization: bearer ${S}`],
    ['bare JWT', `token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.${S}`],
    ['JWT after a dash', `x-eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.${S}`],
    [
      'client_secret= in a query',
      `https://login.microsoftonline.com/t/oauth2/token?client_secret=${S}&grant_type=x`,
    ],
    ['access_token= in a query', `https://x/cb#state=1&access_token=${S}`],
    ['Authorization: Basic', `Authorization: Basic ${basic}`],
    ['"Authorization": "Basic …" (JSON)', `{"Authorization":"Basic ${S}"}`],
    ['Basic credentials anywhere', `header basic ${basicAnywhere}`],
    ['https://user:pass@host', `https://admin:${S}@example.com/path`],
    ['user:pass@ JSON-escaped slashes', `https:\\/\\/admin:${S}@example.com\\/x`],
    ['user:pass@ URL-encoded', `https%3A%2F%2Fadmin%3A${S}%40example.com%2Fx`],
    ['PEM private key', `-----BEGIN RSA PRIVATE KEY-----\nMIIE${S}\n-----END RSA PRIVATE KEY-----`],
  ];
  return forms.map(([name, text]) => ({
    name,
    text,
    secrets: text.includes(digits)
      ? [digits]
      : text.includes(basic)
        ? [basic, S]
        : text.includes(basicAnywhere)
          ? [basicAnywhere, S]
          : [S],
  }));
}

export const SECRET_FORMS: readonly SecretForm[] = secretForms(SECRET);
