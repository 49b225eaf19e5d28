import { SemaphoreFullError } from '../../lib/semaphore.ts';
import { ServiceUnavailable } from '../errors.ts';

/** Runs a password hash or verification, turning a full hashing queue into a retryable 503. */
export async function runHashing<T>(task: () => Promise<T>): Promise<T> {
  try {
    return await task();
  } catch (error) {
    if (error instanceof SemaphoreFullError) throw new ServiceUnavailable('Too many sign-ins at once; retry shortly');
    throw error;
  }
}
