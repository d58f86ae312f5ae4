import { RestError } from '@azure/core-rest-pipeline';
import { DetectorError } from '../../src/lib/errors';
import { errorFields, errorText } from '../../src/lib/errorText';
import { redactText } from '../../src/lib/redact';
import { SECRET_FORMS } from '../support/secretForms';

describe('errorText', () => {
  it('keeps status and code, and removes tokens, keys and SAS signatures', () => {
    const jwt = 'eyJhbGciOiJub25lIn0.eyJhdWQiOiJodHRwczovL21vbml0b3IuYXp1cmUuY29tIn0.sig';
    const text = errorText(
      new RestError(
        `denied for Bearer abc.def and ${jwt} at https://x.blob.core.windows.net/c?sv=1&sig=SECRET AccountKey=KEY==`,
        {
          statusCode: 403,
          code: 'AuthorizationFailed',
        },
      ),
    );
    expect(text).toMatch(/^HTTP 403: AuthorizationFailed: denied/);
    for (const secret of ['abc.def', jwt, 'SECRET', 'KEY==']) expect(text).not.toContain(secret);
    expect(redactText(jwt)).toBe('REDACTED_TOKEN');
  });

  it('spells out an AggregateError by its inner errors, with their codes, and masks keys', () => {
    const inner = Object.assign(new Error('InvalidSignature: SharedAccessKey=abc123 was wrong'), {
      code: 'UnauthorizedError',
    });
    expect(errorText(new AggregateError([inner, inner], ''))).toBe(
      'UnauthorizedError: InvalidSignature: SharedAccessKey=REDACTED was wrong',
    );
    expect(errorText(new AggregateError([], ''))).toBe('unknown error');
  });

  it('keeps the message of a DetectorError as written, and truncates to the length asked for', () => {
    const e = new DetectorError('USAGE', 'bad flag --x AccountKey=abc; see help');
    expect(errorText(e)).toBe('bad flag --x AccountKey=REDACTED; see help');
    expect(errorText(e, 7)).toBe('bad fla');
    expect(errorText('plain Bearer eyJabc.def')).toBe('plain Bearer REDACTED');
  });

  it('gives structured fields with the redacted text', () => {
    const e = Object.assign(new Error('x?sig=abc'), { code: 'E1' });
    expect(errorFields(e)).toEqual({ name: 'Error', code: 'E1', message: 'E1: x?sig=REDACTED' });
  });

  it.each(SECRET_FORMS.map((f) => [f.name, f] as const))(
    'never carries %s into a message, however the error quotes it',
    (_name, form) => {
      const errors = [
        new Error(`request failed: ${form.text}`),
        Object.assign(new Error(`upload to ${form.text} failed`), { code: 'E_UPLOAD', statusCode: 400 }),
        new AggregateError([new Error(form.text)], ''),
        new DetectorError('DELIVERY_FAILED', `Dead letter ${form.text} is not JSON`, {
          cause: new Error(form.text),
        }),
      ];
      for (const e of errors) {
        const text = errorText(e);
        for (const secret of form.secrets) expect(text).not.toContain(secret);
        for (const secret of form.secrets) expect(errorFields(e).message).not.toContain(secret);
      }
    },
  );
});
