/**
 * One subscriber's events (notifications.onEvent): what the user's Redis stream holds after `lastEventId` (or, without
 * one, what is appended from now on), then each new event as it is appended, until the client goes away, the server
 * shuts down or the caller's access ends. The user's channel is subscribed and the starting point read before the
 * stream is handed back, so once the client hears the stream started, nothing appended from then on is missed; and
 * every read starts after the last id sent, so nothing is sent twice.
 */
import { type AppEvent, eventPayload } from '#shared/schemas/events.ts';
import type { Logger } from '../../lib/logger.ts';
import type { RedisClient } from '../../lib/redis-client.ts';
import { ServiceUnavailable, Unauthorized } from '../errors.ts';
import type { EventHub, EventLease } from './hub.ts';
import { eventStreamKey } from './keys.ts';

/** Events read per round trip; a client far behind gets them page after page. */
const PAGE = 100;
/** Looks at the stream at least this often even without a hint (a hint lost in a pub/sub reconnection). */
const SAFETY_READ_MS = 30_000;
/** How often the caller's session is checked again while the stream stays open. */
const ACCESS_RECHECK_MS = 30_000;

export interface UserEventStreamInput {
  userId: number;
  /** Resume after this event id (validated by the caller); an id the stream no longer holds resumes from its oldest. */
  lastEventId?: string | null;
  /** Aborted when the client goes away or the response ends. */
  signal: AbortSignal;
  /** Epoch ms when the credential the stream was opened with expires: the stream ends then (Unauthorized). */
  authorizedUntil: number;
  /** Whether the caller's session still stands (not logged out, not disabled); false ends the stream. */
  stillAuthorized(): Promise<boolean>;
}

export interface StreamedEvent {
  id: string;
  event: AppEvent;
}

/**
 * Opens the stream: throws RateLimited past the per-user cap, ServiceUnavailable when Redis does not answer. The
 * registration is released when the stream ends or `signal` aborts, whichever comes first (a stream may be dropped
 * before it is ever read).
 */
export async function openUserEventStream(
  hub: EventHub,
  redis: RedisClient,
  log: Logger,
  input: UserEventStreamInput,
): Promise<AsyncGenerator<StreamedEvent, void>> {
  const lease = hub.open(input.userId);
  if (input.signal.aborted) lease.release();
  else input.signal.addEventListener('abort', () => lease.release(), { once: true });
  try {
    await unavailableOnError(lease.ready);
    const key = eventStreamKey(input.userId);
    const cursor = await unavailableOnError(startAfter(redis, key, input.lastEventId ?? null));
    return readEvents(lease, redis, log, input, key, cursor);
  } catch (error) {
    lease.release();
    throw error;
  }
}

async function* readEvents(
  lease: EventLease,
  redis: RedisClient,
  log: Logger,
  input: UserEventStreamInput,
  key: string,
  startCursor: string,
): AsyncGenerator<StreamedEvent, void> {
  let cursor = startCursor;
  let checkedAt = Date.now();
  try {
    while (!input.signal.aborted) {
      if (Date.now() >= input.authorizedUntil) {
        throw new Unauthorized('The access token of this stream expired: subscribe again with a fresh one');
      }
      if (Date.now() - checkedAt >= ACCESS_RECHECK_MS) {
        if (!(await input.stillAuthorized())) throw new Unauthorized('Your session has ended; sign in again');
        checkedAt = Date.now();
      }
      const entries = await unavailableOnError(redis.xrange(key, `(${cursor}`, '+', 'COUNT', PAGE));
      for (const [id, fields] of entries) {
        cursor = id;
        const event = decode(id, fields, log);
        if (event) yield { id, event };
      }
      if (entries.length === PAGE) continue;
      const waitMs = Math.min(SAFETY_READ_MS, input.authorizedUntil - Date.now(), ACCESS_RECHECK_MS);
      const outcome = await lease.next(waitMs, input.signal);
      if (outcome === 'closed') throw new ServiceUnavailable('The server is restarting: reconnect to resume');
    }
  } finally {
    lease.release();
  }
}

/**
 * The id to read after: `lastEventId`, unless it lies beyond the stream's newest entry (a stream that expired and
 * started again, or an id from elsewhere), which would skip events; without one, the newest entry, so only events
 * appended from now on are sent.
 */
async function startAfter(redis: RedisClient, key: string, lastEventId: string | null): Promise<string> {
  const [newest] = await redis.xrevrange(key, '+', '-', 'COUNT', 1);
  const newestId = newest?.[0] ?? '0-0';
  if (lastEventId === null || compareIds(lastEventId, newestId) > 0) return newestId;
  return lastEventId;
}

/** Stream ids compare by milliseconds, then sequence (both fit a double: at most 15 digits each). */
export function compareIds(a: string, b: string): number {
  const [aMs = 0, aSeq = 0] = a.split('-').map(Number);
  const [bMs = 0, bSeq = 0] = b.split('-').map(Number);
  return aMs - bMs || aSeq - bSeq;
}

/** An entry as an event, with its publication time from the id; null (logged) for an entry that does not parse. */
function decode(id: string, fields: string[], log: Logger): AppEvent | null {
  const json = fields[fields.indexOf('e') + 1];
  let parsed: ReturnType<typeof eventPayload.safeParse> | undefined;
  try {
    parsed = json === undefined ? undefined : eventPayload.safeParse(JSON.parse(json));
  } catch {
    parsed = undefined;
  }
  if (!parsed?.success) {
    log.warn({ eventId: id }, 'real-time event skipped: unreadable entry');
    return null;
  }
  return { ...parsed.data, at: new Date(Number(id.split('-')[0])) };
}

/** Redis failures as ServiceUnavailable: the client reconnects and resumes once Redis answers again. */
async function unavailableOnError<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw new ServiceUnavailable('Real-time events are unavailable for a moment: reconnect to resume', {
      cause: error,
    });
  }
}
