/** Bounds concurrent work; callers beyond `maxWaiting` are refused at once instead of piling up. */
export class SemaphoreFullError extends Error {}

export function createSemaphore(maxConcurrent: number, maxWaiting: number) {
  let active = 0;
  const waiting: Array<() => void> = [];

  return async function run<T>(task: () => Promise<T>): Promise<T> {
    if (active >= maxConcurrent) {
      if (waiting.length >= maxWaiting) throw new SemaphoreFullError('too many operations waiting');
      await new Promise<void>((resolve) => waiting.push(resolve));
    } else {
      active++;
    }
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter (active stays the same), or release it.
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
