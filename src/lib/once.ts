/*
 * Create-once, reset-on-failure: SDK clients and credentials are made on first use (so the function's
 * import never loads an Azure SDK) and shared afterwards; a failed creation is forgotten so that the next
 * call tries again instead of replaying the same rejection forever.
 */
export function once<T>(create: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= create().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

/** Made on the first call, then the same value: for what a module would otherwise build at import. */
export function onceSync<T>(create: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    made ??= { value: create() };
    return made.value;
  };
}
