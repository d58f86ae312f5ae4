import { createHttpHeaders, RestError } from '@azure/core-rest-pipeline';
import { classifyFailure, parseRetryAfter, retryDelayMs } from '../../src/deliver/retryPolicy';

const restError = (statusCode: number, headers: Record<string, string> = {}): RestError =>
  new RestError(`status ${statusCode}`, {
    statusCode,
    response: { headers: createHttpHeaders(headers), status: statusCode, request: undefined as never },
  });

describe('classifyFailure', () => {
  it.each([408, 429, 500, 502, 503, 504, 599])('retries HTTP %i', (status) => {
    expect(classifyFailure(restError(status)).kind).toBe('retry');
  });
  it.each([400, 413])('splits HTTP %i (content rejected: isolate the row at fault)', (status) => {
    expect(classifyFailure(restError(status)).kind).toBe('split');
  });
  it.each([401, 403, 404, 409, 501, 505])('does not retry HTTP %i', (status) => {
    expect(classifyFailure(restError(status)).kind).toBe('final');
  });
  it('carries Retry-After of a 429 or 503', () => {
    expect(classifyFailure(restError(429, { 'retry-after': '7' }))).toMatchObject({
      kind: 'retry',
      retryAfterMs: 7_000,
    });
    expect(classifyFailure(restError(503, { 'retry-after-ms': '250' }))).toMatchObject({ retryAfterMs: 250 });
  });
  it('retries dropped connections, timeouts and identity endpoint failures', () => {
    expect(classifyFailure(new RestError('socket hang up', { code: 'ECONNRESET' })).kind).toBe('retry');
    expect(classifyFailure(new RestError('refused', { code: 'ECONNREFUSED' })).kind).toBe('retry');
    expect(classifyFailure(Object.assign(new Error('aborted'), { name: 'AbortError' })).kind).toBe('retry');
    expect(
      classifyFailure(Object.assign(new Error('no token'), { name: 'CredentialUnavailableError' })).kind,
    ).toBe('retry');
    expect(
      classifyFailure(new Error('wrapped', { cause: new RestError('x', { code: 'ETIMEDOUT' }) })).kind,
    ).toBe('retry');
  });
  it('does not retry certificate trust failures or programming errors', () => {
    expect(classifyFailure(new RestError('self-signed', { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' })).kind).toBe(
      'final',
    );
    expect(classifyFailure(new TypeError('x is not a function')).kind).toBe('final');
  });
});

describe('parseRetryAfter', () => {
  const headers = (h: Record<string, string>) => createHttpHeaders(h);
  it('reads seconds, HTTP dates and the millisecond variants', () => {
    expect(parseRetryAfter(headers({ 'retry-after': '2' }))).toBe(2_000);
    expect(
      parseRetryAfter(
        headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:10 GMT' }),
        Date.parse('2026-01-01T00:00:00Z'),
      ),
    ).toBe(10_000);
    expect(parseRetryAfter(headers({ 'x-ms-retry-after-ms': '1500' }))).toBe(1_500);
    expect(parseRetryAfter(headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('retryDelayMs', () => {
  const opts = { baseDelayMs: 1_000, maxDelayMs: 30_000 };
  it('grows exponentially with equal jitter and stays under the cap', () => {
    expect(retryDelayMs(1, opts, () => 0)).toBe(500);
    expect(retryDelayMs(1, opts, () => 1)).toBe(1_000);
    expect(retryDelayMs(4, opts, () => 0)).toBe(4_000);
    expect(retryDelayMs(20, opts, () => 1)).toBe(30_000);
  });
  it('waits at least the Retry-After the service asked for', () => {
    expect(retryDelayMs(1, opts, () => 0, 5_000)).toBe(5_000);
    expect(retryDelayMs(1, opts, () => 1, 5_000)).toBe(5_500);
  });
});
