import type { NotificationSeverity } from '#shared/enums.ts';
import { clipChars } from '../notifications/create.ts';

/** What every sender formats: one notification, addressed to one channel. */
export interface DeliveryMessage {
  notificationId: number;
  channelId: number;
  type: string;
  severity: NotificationSeverity;
  title: string;
  message: string;
  /** Ids the app links to (orderId, strategyId…), never secrets. */
  data: Record<string, unknown> | null;
  createdAt: Date;
}

/**
 * The id a receiver deduplicates on: the same for every attempt of one notification to one channel (a retry after
 * a lost answer sends it again), different for every other delivery.
 */
export function deliveryId(message: Pick<DeliveryMessage, 'notificationId' | 'channelId'>): string {
  return `${message.notificationId}-${message.channelId}`;
}

/** At most `max` characters, ending in … when clipped (code points, so no surrogate pair is split). */
export function clip(text: string, max: number): string {
  const clipped = clipChars(text, max);
  return clipped === text ? text : `${clipChars(text, max - 1)}…`;
}
