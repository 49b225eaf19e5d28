/**
 * Small async tools for the Tradovate adapter: one shared flight for work many callers need at once (a login, a
 * renewal, the account lookup), and abortable waits (pacing, p-ticket back-off).
 */
import { BrokerUnavailable } from '../errors.ts';

const aborted = (what: string) => new BrokerUnavailable(`Tradovate: ${what} timed out`);

/** Rejects with BrokerUnavailable as soon as `signal` aborts; otherwise settles like `promise`. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(aborted(what));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted(what));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Waits `ms`, or rejects with BrokerUnavailable when `signal` aborts first. */
export function sleep(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const wait = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms));
  });
  return abortable(wait, signal, what).finally(() => clearTimeout(timer));
}

interface Flight<T> {
  promise: Promise<T>;
  controller: AbortController;
  waiters: number;
}

/**
 * Single-flight: while one run is in progress every caller shares it (so ten concurrent calls cause one login, not
 * ten, each of which would open a new Tradovate session). The run has its own AbortSignal, aborted only when every
 * caller waiting for it has given up: one caller's timeout must not fail the others, and a hung login must not
 * outlive everyone who wanted it.
 */
export class SingleFlight<T> {
  #current: Flight<T> | null = null;
  readonly #what: string;

  constructor(what: string) {
    this.#what = what;
  }

  get inFlight(): boolean {
    return this.#current !== null;
  }

  run(start: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(aborted(this.#what));
    let flight = this.#current;
    if (!flight) {
      const controller = new AbortController();
      const created: Flight<T> = {
        controller,
        waiters: 0,
        promise: start(controller.signal).finally(() => {
          if (this.#current === created) this.#current = null;
        }),
      };
      // Every waiter may have left; the outcome must still never be an unhandled rejection.
      created.promise.catch(() => {});
      this.#current = created;
      flight = created;
    }
    const joined = flight;
    joined.waiters += 1;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const leave = () => {
        settled = true;
        joined.waiters -= 1;
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        if (settled) return;
        leave();
        if (joined.waiters === 0) {
          // Nobody wants this run any more: cancel its HTTP call and let the next caller start afresh.
          if (this.#current === joined) this.#current = null;
          joined.controller.abort();
        }
        reject(aborted(this.#what));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      joined.promise.then(
        (value) => {
          if (settled) return;
          leave();
          resolve(value);
        },
        (error: unknown) => {
          if (settled) return;
          leave();
          reject(error);
        },
      );
    });
  }
}
