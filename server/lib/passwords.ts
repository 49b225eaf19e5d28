/**
 * argon2id with the OWASP parameters m=19456 KiB, t=2, p=1. Each hash holds 19 MiB for ~tens of ms, so at most
 * HASH_CONCURRENCY run at once and a burst beyond HASH_QUEUE is refused (SemaphoreFullError) rather than queued
 * without bound (an API4 resource-consumption attack otherwise).
 */
import { hash, verify } from '@node-rs/argon2';
import { createSemaphore } from './semaphore.ts';

// Argon2id is the library's default algorithm; the parameters are pinned so a library default change cannot weaken them.
const OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1, outputLen: 32 };
const HASH_CONCURRENCY = 4;
const HASH_QUEUE = 64;

const limit = createSemaphore(HASH_CONCURRENCY, HASH_QUEUE);

export function hashPassword(password: string): Promise<string> {
  return limit(() => hash(password, OPTIONS));
}

// A real hash of a random password: verifying against it costs what a real verification costs, so an unknown
// email takes as long as a wrong password.
let dummyHash: Promise<string> | undefined;

/** Verifies `password` against `stored`, or burns the same time against a dummy hash when there is no user. */
export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  dummyHash ??= hash(`dummy-${Math.random()}`, OPTIONS);
  const target = stored ?? (await dummyHash);
  const ok = await limit(() => verify(target, password).catch(() => false));
  return stored !== null && ok;
}
