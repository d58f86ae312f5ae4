/**
 * Redaction time on adversarial text (`npm run bench`, BENCHMARKS.md › Redaction). Redaction reads
 * attacker-controlled text (every malformed message kept in a dead letter goes through it), so its time
 * must grow with the length only: the table shows 1 MB of each bait shape against 1 MB of real export
 * JSON, and, for reference, the JWT pattern the detector used before (quadratic on `eyJ-eyJ-…`) on a few
 * short inputs, to show what linear replaced. The property test (test/lib/redact.property.test.ts) checks
 * the same bound structurally, by the scanner's own count of characters examined.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { redactTextCounted } from '../src/lib/redact';
import { median } from './stats';

const MB = 1024 * 1024;

/** 1 MB of each shape that starts or prolongs a match, and real export JSON. */
function inputs(root: string): { name: string; text: string }[] {
  const sample = readFileSync(join(root, 'samples/capture-operations.eventhub.json'), 'utf8');
  const fill = (block: string): string => block.repeat(Math.ceil(MB / block.length)).slice(0, MB);
  return [
    { name: 'real export JSON (samples/capture-operations)', text: fill(sample) },
    { name: 'eyJ-eyJ-… (JWT heads, one run)', text: fill('eyJ-') },
    { name: 'eyJaaaaaaaaaaa. (JWT heads with dots)', text: fill('eyJaaaaaaaaaaa.') },
    { name: 'sig=sig=… (values that never end)', text: fill('sig=') },
    { name: '"password":"… (credential fields)', text: fill('"password":"') },
    { name: '\\" (escaped quotes)', text: fill('\\"') },
    { name: ':// (URL authorities)', text: fill('://') },
    { name: '%3A%2F%2Fa%3A (encoded authorities)', text: fill('%3A%2F%2Fa%3A') },
    { name: 'bearer bearer … (scheme words)', text: fill('bearer ') },
    { name: 'one 1 MB base64 run', text: fill('QUJDRA') },
  ];
}

/** The JWT pattern redaction used before issue 12; only for the reference rows. */
const PREVIOUS_JWT = /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g;

export interface RedactionFigure {
  readonly name: string;
  readonly bytes: number;
  readonly ms: number;
  readonly mbPerS: number;
  readonly stepsPerChar: number;
}

export interface RedactionResult {
  readonly figures: RedactionFigure[];
  readonly previous: { readonly bytes: number; readonly ms: number }[];
  /** Slowest 1 MB input, ms. */
  readonly worstMs: number;
}

function timed(fn: () => void, rounds: number): number {
  const ms: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const started = process.hrtime.bigint();
    fn();
    ms.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return median(ms);
}

export function measureRedaction(root: string, rounds: number): RedactionResult {
  const figures = inputs(root).map(({ name, text }) => {
    redactTextCounted(text); // warm-up
    let steps = 0;
    const ms = timed(() => {
      steps = redactTextCounted(text).steps;
    }, rounds);
    return {
      name,
      bytes: text.length,
      ms,
      mbPerS: text.length / MB / (ms / 1000),
      stepsPerChar: steps / text.length,
    };
  });
  const previous = [8, 16, 32].map((kb) => {
    const text = 'eyJ-'.repeat((kb * 1024) / 4);
    return { bytes: text.length, ms: timed(() => text.replace(PREVIOUS_JWT, 'REDACTED_TOKEN'), 1) };
  });
  return { figures, previous, worstMs: Math.max(...figures.map((f) => f.ms)) };
}
