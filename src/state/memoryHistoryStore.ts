/*
 * Each caller's capture history in process memory: for `scan`, whose history is its own input, and for a host
 * with no table storage configured (the history then spans that process's batches only).
 */
import type { CaptureHistoryStore, CaptureStart } from '../triage/history';

export class MemoryCaptureHistoryStore implements CaptureHistoryStore {
  readonly name = 'memory';
  private readonly lists = new Map<string, readonly CaptureStart[]>();

  update(
    key: string,
    change: (current: readonly CaptureStart[]) => readonly CaptureStart[],
  ): Promise<readonly CaptureStart[]> {
    const before = this.lists.get(key) ?? [];
    this.lists.set(key, change(before));
    return Promise.resolve(before);
  }

  /** How many principals and caller IPs are held (tests). */
  get size(): number {
    return this.lists.size;
  }
}
