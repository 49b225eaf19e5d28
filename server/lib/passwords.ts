/**
 * argon2id with the OWASP parameters m=19456 KiB, t=2, p=1. Each hash holds 19 MiB for ~tens of ms, so only a few
 * run at once and a burst beyond a queue's bound is refused (SemaphoreFullError) rather than queued without bound
 * (an API4 resource-consumption attack otherwise). New hashes (register, password change) and verifications
 * (login) have separate queues, so a flood of sign-ups fills only its own queue and never refuses a login.
 */
import { hash, verify } from '@node-rs/argon2';
import { createSemaphore } from './semaphore.ts';

// Argon2id is the library's default algorithm; the parameters are pinned so a library default change cannot weaken them.
const OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1, outputLen: 32 };
// argon2 runs on libuv's thread pool (4 threads by default). New hashes may hold at most half of it, so however
// many sign-ups wait, logins always get at least two threads.
const verifyLimit = createSemaphore(4, 64);
const hashLimit = createSemaphore(2, 32);

export function hashPassword(password: string): Promise<string> {
  return hashLimit(() => hash(password, OPTIONS));
}

// A real hash of a random password: verifying against it costs what a real verification costs, so an unknown
// email takes as long as a wrong password.
let dummyHash: Promise<string> | undefined;

/** Verifies `password` against `stored`, or burns the same time against a dummy hash when there is no user. */
export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  dummyHash ??= hash(`dummy-${Math.random()}`, OPTIONS);
  const target = stored ?? (await dummyHash);
  const ok = await verifyLimit(() => verify(target, password).catch(() => false));
  return stored !== null && ok;
}
