/*
 * The operation state in process memory: for `scan`, which joins the records of its whole input, and for a
 * host with no table storage configured (the join then spans that process's batches only).
 */
import type { OperationState, OperationStateStore } from '../pipeline/ports';

export class MemoryOperationStateStore implements OperationStateStore {
  readonly name = 'memory';
  private readonly states = new Map<string, OperationState>();

  update(
    id: string,
    change: (current: OperationState | undefined) => OperationState,
  ): Promise<{ before: OperationState | undefined; after: OperationState }> {
    const before = this.states.get(id);
    const after = change(before);
    this.states.set(id, after);
    return Promise.resolve({ before, after });
  }

  /** How many operations are held (tests, and the scan summary). */
  get size(): number {
    return this.states.size;
  }
}
