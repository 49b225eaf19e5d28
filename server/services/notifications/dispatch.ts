/**
 * The notification outbox. createNotification writes rows inside the transactions of the changes they report, so
 * channel deliveries cannot be enqueued there (a rolled-back change would still be announced, and Redis would sit
 * inside the transaction). Instead a scheduled sweep reads committed rows whose `dispatched_at` is NULL, enqueues
 * one delivery per matching channel, then marks the rows dispatched.
 *
 * At least once: a crash between the enqueue and the mark enqueues the same deliveries again on the next sweep, and
 * BullMQ keeps one job per id (deliveryJobId) while the first is stored; receivers of generic webhooks deduplicate
 * on the delivery id for the rest.
 */
import { and, asc, eq, inArray, isNull } from 'drizzle-orm';
import { deadLetters } from '#drizzle/schema/dead_letters.ts';
import { notificationChannels } from '#drizzle/schema/notification_channels.ts';
import { notifications } from '#drizzle/schema/notifications.ts';
import type { NotificationSeverity } from '#shared/enums.ts';
import { idSchema } from '#shared/schemas/common.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import type { DbOrTx } from '../../db/transaction.ts';
import type { ServiceContext } from '../context.ts';
import { publishNotifications } from '../events/publish.ts';

export interface Delivery {
  notificationId: number;
  channelId: number;
}

/** Adds the delivery jobs (job id per pair, so adding one twice is harmless). Injected: services know no BullMQ. */
export type EnqueueDeliveries = (deliveries: Delivery[]) => Promise<void>;

export interface DispatchOptions {
  /** Notifications read per round trip. */
  batchSize?: number;
  /** Batches per sweep: bounds one sweep's work; the next sweep, seconds later, carries on. */
  maxBatches?: number;
  now?: () => Date;
}

interface PendingRow {
  id: number;
  userId: number;
  type: string;
  severity: NotificationSeverity;
  title: string;
  data: Record<string, unknown> | null;
  deletedAt: Date | null;
}

interface ChannelRow {
  id: number;
  userId: number;
  events: string[] | null;
}

/** Whether a channel subscribed to `type`: NULL events means every type. */
export function subscribes(events: string[] | null, type: string): boolean {
  return events === null || events.includes(type);
}

/**
 * Enqueues the deliveries of undispatched notifications, oldest first, through notifications_dispatched_at_id_idx,
 * and marks them dispatched. A failed enqueue (Redis down) fails the sweep with nothing marked; the next one retries.
 */
export async function dispatchNotifications(
  ctx: ServiceContext,
  enqueue: EnqueueDeliveries,
  options: DispatchOptions = {},
): Promise<{ notifications: number; deliveries: number }> {
  const batchSize = options.batchSize ?? 200;
  const maxBatches = options.maxBatches ?? 5;
  const now = options.now ?? (() => new Date());
  let dispatched = 0;
  let enqueued = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    // Sweeps overlap (a repeatable job's next run is scheduled when the current one starts, and two workers sweep):
    // each claims its rows with SKIP LOCKED, so every notification is enqueued and announced by one sweep only.
    // READ COMMITTED: no gap locks, so notifications inserted meanwhile (by fills) never wait for a sweep.
    const { rows, deliveries } = await ctx.db.transaction(
      async (tx) => {
        const claimed: PendingRow[] = await tx
          .select({
            id: notifications.id,
            userId: notifications.userId,
            type: notifications.type,
            severity: notifications.severity,
            title: notifications.title,
            data: notifications.data,
            deletedAt: notifications.deletedAt,
          })
          .from(notifications)
          .where(isNull(notifications.dispatchedAt))
          .orderBy(asc(notifications.id))
          .limit(batchSize)
          .for('update', { skipLocked: true });
        if (claimed.length === 0) return { rows: claimed, deliveries: [] };
        const planned = await planDeliveries(tx, claimed);
        // Job ids (notify-<notification>-<channel>) make an enqueue repeated after a failed commit add nothing.
        if (planned.length > 0) await enqueue(planned);
        await tx
          .update(notifications)
          .set({ dispatchedAt: now() })
          .where(
            inArray(
              notifications.id,
              claimed.map((row) => row.id),
            ),
          );
        return { rows: claimed, deliveries: planned };
      },
      { isolationLevel: 'read committed' },
    );
    if (rows.length === 0) break;
    // Committed, and claimed by this sweep alone: now the trader's open event streams hear of it, once.
    publishNotifications(rows.filter((row) => row.deletedAt === null));
    dispatched += rows.length;
    enqueued += deliveries.length;
    if (rows.length < batchSize) break;
  }
  if (dispatched > 0) ctx.log.debug({ notifications: dispatched, deliveries: enqueued }, 'notifications dispatched');
  return { notifications: dispatched, deliveries: enqueued };
}

/**
 * The deliveries of `rows`: each live notification to each active channel of its user that subscribed to its type,
 * except
 * - a `dead_letter.created` about a failed notify job: announcing a failed delivery on the channels could fail
 *   again and feed itself (it stays in the app);
 * - a `channel.failing` to the channel it is about.
 */
export async function planDeliveries(db: DbOrTx, rows: PendingRow[]): Promise<Delivery[]> {
  const live = rows.filter((row) => row.deletedAt === null);
  if (live.length === 0) return [];
  const channels = await activeChannels(db, [...new Set(live.map((row) => row.userId))]);
  if (channels.length === 0) return [];
  const failedDeliveries = await deadLettersOfNotify(db, live);
  const deliveries: Delivery[] = [];
  for (const row of live) {
    if (row.type === 'dead_letter.created' && failedDeliveries.has(idIn(row.data, 'deadLetterId') ?? 0)) continue;
    const about = row.type === 'channel.failing' ? idIn(row.data, 'channelId') : null;
    for (const channel of channels) {
      if (channel.userId !== row.userId || channel.id === about || !subscribes(channel.events, row.type)) continue;
      deliveries.push({ notificationId: row.id, channelId: channel.id });
    }
  }
  return deliveries;
}

/** Served by notification_channels_user_id_name_live_uq's user_id prefix. */
async function activeChannels(db: DbOrTx, userIds: number[]): Promise<ChannelRow[]> {
  return db
    .select({ id: notificationChannels.id, userId: notificationChannels.userId, events: notificationChannels.events })
    .from(notificationChannels)
    .where(
      and(
        inArray(notificationChannels.userId, userIds),
        eq(notificationChannels.isActive, true),
        notDeleted(notificationChannels),
      ),
    );
}

/** The ids, among the dead letters these notifications announce, of dead letters of the notify queue. */
async function deadLettersOfNotify(db: DbOrTx, rows: PendingRow[]): Promise<Set<number>> {
  const ids = rows.flatMap((row) => {
    const id = row.type === 'dead_letter.created' ? idIn(row.data, 'deadLetterId') : null;
    return id === null ? [] : [id];
  });
  if (ids.length === 0) return new Set();
  const found = await db
    .select({ id: deadLetters.id })
    .from(deadLetters)
    .where(and(inArray(deadLetters.id, ids), eq(deadLetters.queue, 'notify')));
  return new Set(found.map((row) => row.id));
}

/** A positive id stored under `key` of a notification's data, or null (stored data, not trusted). */
function idIn(data: Record<string, unknown> | null, key: string): number | null {
  const parsed = idSchema.safeParse(data?.[key]);
  return parsed.success ? parsed.data : null;
}
