import { notifications } from '#drizzle/schema/notifications.ts';
import type { NotificationSeverity, NotificationType } from '#shared/enums.ts';
import type { DbOrTx } from '../../db/transaction.ts';

/** notifications.title is varchar(200): MySQL counts characters (code points). */
const TITLE_MAX_CHARS = 200;
/** A TEXT column holds 65,535 bytes; at up to 4 bytes per utf8mb4 character, 16,383 characters always fit. */
export const TEXT_MAX_CHARS = 16_383;

/** At most `max` code points of `text`, so the insert never fails on length and no surrogate pair is split. */
export function clipChars(text: string, max: number): string {
  if (text.length <= max) return text; // fewer UTF-16 units than `max` means fewer code points too
  let out = '';
  let count = 0;
  for (const char of text) {
    if (count === max) break;
    out += char;
    count++;
  }
  return out;
}

export interface NotificationInput {
  userId: number;
  type: NotificationType;
  severity: NotificationSeverity;
  title: string;
  message: string;
  /** Ids the app links to (orderId, strategyId, deadLetterId…): never secrets or user text. */
  data?: Record<string, unknown>;
}

/**
 * Writes one in-app notification for `userId` in `db`, which may be the caller's transaction: a notification about a
 * change then exists exactly when the change does. Returns the new row's id. Title and message are clipped to their
 * columns rather than failing the change they report.
 */
export async function createNotification(db: DbOrTx, input: NotificationInput): Promise<number> {
  const [row] = await db
    .insert(notifications)
    .values({
      userId: input.userId,
      type: input.type,
      severity: input.severity,
      title: clipChars(input.title, TITLE_MAX_CHARS),
      message: clipChars(input.message, TEXT_MAX_CHARS),
      data: input.data ?? null,
    })
    .$returningId();
  if (!row) throw new Error('notification insert returned no id');
  return row.id;
}
