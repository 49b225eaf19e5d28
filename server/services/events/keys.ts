/**
 * Where a user's events live in Redis: a capped stream per user (the history a reconnecting client resumes from) and
 * a pub/sub channel per user that only says "the stream grew" (so api processes wake their subscribers at once
 * instead of polling). Both under REDIS_PREFIX, so test runs and deployments sharing a Redis never mix.
 */
import { env } from '../../lib/env.ts';

export function eventStreamKey(userId: number): string {
  return `${env.REDIS_PREFIX}:events:${userId}`;
}

export function eventChannel(userId: number): string {
  return `${env.REDIS_PREFIX}:events:${userId}:new`;
}

/** The user id of an eventChannel name, or null for any other channel. */
export function userOfChannel(channel: string): number | null {
  const prefix = `${env.REDIS_PREFIX}:events:`;
  if (!channel.startsWith(prefix) || !channel.endsWith(':new')) return null;
  const userId = Number(channel.slice(prefix.length, -':new'.length));
  return Number.isSafeInteger(userId) && userId > 0 ? userId : null;
}
