/**
 * The event sink of a process: each event is appended to its user's stream, capped at EVENT_STREAM_LENGTH entries
 * and expiring EVENT_STREAM_TTL_S after the last one, and the user's channel is told the stream grew, so every api
 * process with a subscriber of that user reads it at once (./hub.ts). One script, so the three happen together and
 * in one round trip; on the producer connection, whose auto-pipelining batches the events of one event-loop turn.
 */
import { createHash } from 'node:crypto';
import type { EventPayload } from '#shared/schemas/events.ts';
import { env } from '../../lib/env.ts';
import type { Logger } from '../../lib/logger.ts';
import type { RedisClient } from '../../lib/redis-client.ts';
import { eventChannel, eventStreamKey } from './keys.ts';
import type { EventSink } from './publish.ts';

// Exact MAXLEN rather than `~`: one entry leaves per entry added, which costs the same as approximate trimming at
// this rate and keeps "the last N events" exactly what a client can resume from.
const APPEND_SCRIPT = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '*', 'e', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[4], id)
return id`;
const APPEND_SHA = createHash('sha1').update(APPEND_SCRIPT).digest('hex');

/** One warning per this interval at most while Redis refuses events, instead of one per event. */
const WARN_EVERY_MS = 10_000;

export interface RedisSinkOptions {
  maxLength?: number;
  ttlS?: number;
}

/**
 * A sink on `redis`, which should fail fast (the producer connection): while Redis is away each event is dropped and
 * counted in the next warning, and the change it reports is not held up.
 */
export function redisEventSink(redis: RedisClient, log: Logger, options: RedisSinkOptions = {}): EventSink {
  const maxLength = options.maxLength ?? env.EVENT_STREAM_LENGTH;
  const ttlMs = (options.ttlS ?? env.EVENT_STREAM_TTL_S) * 1000;
  let lastWarnAt = 0;
  let dropped = 0;
  const dropOne = (error: unknown, userId: number, event: EventPayload) => {
    dropped += 1;
    if (Date.now() - lastWarnAt < WARN_EVERY_MS) return;
    lastWarnAt = Date.now();
    log.warn({ err: error, userId, kind: event.kind, dropped }, 'real-time event not published');
    dropped = 0;
  };
  return {
    publish(userId, event) {
      const args = [eventStreamKey(userId), maxLength, ttlMs, JSON.stringify(event), eventChannel(userId)] as const;
      // By hash, so the script's text travels only when this Redis has not seen it yet (after a restart).
      redis
        .evalsha(APPEND_SHA, 1, ...args)
        .catch((error: unknown) => {
          if (!String(error).includes('NOSCRIPT')) throw error;
          return redis.eval(APPEND_SCRIPT, 1, ...args);
        })
        .catch((error: unknown) => dropOne(error, userId, event));
    },
  };
}
