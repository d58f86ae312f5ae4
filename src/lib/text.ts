/* Small text helpers every layer uses. */
import { describeValue } from './errors';

/** `1 alert`, `2 alerts`; `plural(1, 'batch', 'batches')` for irregular words. */
export function plural(count: number, word: string, many = `${word}s`): string {
  return `${count} ${count === 1 ? word : many}`;
}

/** Trimmed text, or undefined when absent or blank (an empty setting or flag counts as unset). */
export function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  return `${(bytes / (1024 * 1024 * 1024)).toFixed(2)} GB`;
}

/** JSON text of a value for keeping it raw; falls back to String() for values JSON cannot express. */
export function safeStringify(value: unknown): string {
  try {
    // JSON.stringify returns undefined for undefined, functions and symbols despite its declared type.
    const text = JSON.stringify(value) as string | undefined;
    return text ?? String(value);
  } catch {
    // Deep nesting overflows the stack in JSON.stringify and in String() alike; a throw here would fail the
    // whole batch (and, under the retry policy, block the partition).
    try {
      return String(value);
    } catch {
      return `[${describeValue(value)} too deeply nested to keep]`;
    }
  }
}
