/*
 * How `consume` stops: the first SIGINT/SIGTERM (or an abort signal from a caller, or a fatal service
 * error) stops taking new batches and lets in-flight ones finish and checkpoint; a second signal exits at
 * once, leaving unfinished batches to be read again by the next run.
 */
import type { Logger } from '../../pipeline/ports';

/** As a shell reports a process ended by SIGINT (128 + 2). */
export const EXIT_INTERRUPTED = 130;

export interface StopControl {
  /** Aborted once a stop was requested. */
  readonly signal: AbortSignal;
  request(reason: string): void;
  /** Resolves when a stop is requested. */
  readonly requested: Promise<void>;
  /** Removes the process signal handlers (once the consumer has closed). */
  dispose(): void;
}

/** With `external`, no process signal handlers are installed: aborting it has the effect of SIGTERM. */
export function stopControl(logger: Logger, external: AbortSignal | undefined): StopControl {
  const controller = new AbortController();
  const request = (reason: string): void => {
    if (controller.signal.aborted) return;
    logger.info('stopping: no new batches, finishing in-flight ones', { reason });
    controller.abort();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      logger.warn('second signal: exiting without waiting for in-flight batches', { signal });
      process.exit(EXIT_INTERRUPTED);
    }
    request(signal);
  };
  if (external) {
    external.addEventListener(
      'abort',
      () => {
        request('abort signal');
      },
      { once: true },
    );
  } else {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const requested = new Promise<void>((resolve) => {
    if (controller.signal.aborted) resolve();
    else
      controller.signal.addEventListener(
        'abort',
        () => {
          resolve();
        },
        { once: true },
      );
  });
  return {
    signal: controller.signal,
    request,
    requested,
    dispose: () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
  };
}

/** Waits `ms`, or less when `signal` aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
