import fc from 'fast-check';
import { redactText, redactTextCounted } from '../../src/lib/redact';
import { secretForms } from '../support/secretForms';

/**
 * Redaction reads attacker-controlled text, so its cost must be linear whatever the text. This is checked
 * structurally, not with a clock: the scanner counts every character it examines (`steps`), and for
 * adversarial strings built from the pieces that start or prolong a match (JWT heads, `sig=`, quotes and
 * backslashes, encoded separators, `://`, scheme words), the count stays within a constant times the
 * length. A backtracking pattern would show up as a count growing with the square of the length. The time
 * per megabyte is measured in `npm run bench` (BENCHMARKS.md › Redaction).
 */
const FULL = process.env.FAULTS_FULL === '1';
const RUNS = FULL ? 1_000 : 150;
/** The scanner's constant: each character is examined by the main loop and at most a few look-aheads. */
const STEPS_PER_CHAR = 8;

const PIECES = [
  'eyJ',
  'eyJ-',
  'eyJhbGciOi',
  '.',
  '-',
  '_',
  'a',
  '0',
  'sig',
  'sig=',
  '=',
  '%3D',
  '%26',
  '%3F',
  '%25',
  '%3A%2F%2F',
  '%40',
  '&',
  '?',
  ';',
  '"',
  '\\',
  '\\"',
  '\\\\\\"',
  ':',
  '://',
  ':\\/\\/',
  '@',
  '/',
  ' ',
  '\n',
  'password',
  '"password":',
  '"password": "',
  'clientSecret',
  'AccountKey=',
  'u0026',
  '\\u0026sig=',
  '\\u003d',
  'Bearer ',
  'bearer ',
  'Basic ',
  'basic ',
  'Authorization: ',
  '-----BEGIN ',
  'PRIVATE KEY-----',
  '-----END',
];

const piece = fc.constantFrom(...PIECES);
/** A string of adversarial pieces, possibly one block repeated many times (the usual shape of bait). */
const adversarial = fc.oneof(
  fc.array(piece, { maxLength: 400 }).map((p) => p.join('')),
  fc
    .tuple(fc.array(piece, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 4_000 }))
    .map(([block, times]) => block.join('').repeat(times)),
  fc.string({ unit: 'binary', maxLength: 2_000 }),
);

describe('redaction work is linear in the length (property-based)', () => {
  it('examines at most a constant number of characters per character of input', () => {
    fc.assert(
      fc.property(adversarial, (text) => {
        const { steps } = redactTextCounted(text);
        expect(steps).toBeLessThanOrEqual(STEPS_PER_CHAR * text.length + 64);
      }),
      { numRuns: RUNS },
    );
  });

  it.each([
    ['eyJ-', 'eyJ-'],
    ['JWT heads with dots', 'eyJaaaaaaaaaaa.'],
    ['sig= repeated', 'sig='],
    ['quoted credential names', '"password":'],
    ['backslash-quote', '\\"'],
    ['scheme separators', '://'],
    ['encoded scheme separators', '%3A%2F%2Fa%3A'],
    ['bearer words', 'bearer '],
    ['PEM headers', '-----BEGIN PRIVATE KEY-----'],
  ])('the work per character does not grow with the length: %s', (_name, block) => {
    const perChar = [1_000, 10_000, 100_000].map((n) => {
      const text = block.repeat(Math.ceil(n / block.length));
      return redactTextCounted(text).steps / text.length;
    });
    expect(Math.max(...perChar)).toBeLessThanOrEqual(STEPS_PER_CHAR);
    // Linear: ten times the text, at most a rounding difference in work per character.
    expect((perChar[2] ?? 0) - (perChar[0] ?? 0)).toBeLessThan(0.05);
  });
});

describe('no secret form survives adversarial surroundings (property-based)', () => {
  const secret = fc.stringMatching(/^[A-Za-z0-9]{16,32}$/).map((s) => `Zq${s}`);
  /** A separator before the form: what text usually has between a value and the next. */
  const separator = fc.constantFrom(' ', '\n', '"', ',', '(', '{', ';');
  const junk = fc.array(piece, { maxLength: 30 }).map((p) => p.join(''));

  it('masks every form whatever comes before (after a separator) and after it, in every encoding', () => {
    fc.assert(
      fc.property(
        secret,
        fc.nat(),
        junk,
        separator,
        junk,
        fc.constantFrom('plain', 'json', 'json twice'),
        (s, which, before, sep, after, encoding) => {
          const forms = secretForms(s);
          const form = forms[which % forms.length]!;
          let text = form.text;
          if (encoding !== 'plain') text = JSON.stringify(text);
          if (encoding === 'json twice') text = JSON.stringify(text);
          const out = redactText(`${before}${sep}${text}${sep === '"' ? '"' : ' '}${after}`);
          for (const leaked of form.secrets)
            expect([form.name, out.includes(leaked)]).toEqual([form.name, false]);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
