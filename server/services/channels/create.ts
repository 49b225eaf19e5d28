import { and, count, eq } from 'drizzle-orm';
import { notificationChannels } from '#drizzle/schema/notification_channels.ts';
import { users } from '#drizzle/schema/users.ts';
import type { ChannelView, CreateChannelInput } from '#shared/schemas/channels.ts';
import { emitAudit } from '../../audit/emit.ts';
import { isDuplicateKey } from '../../db/errors.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import { withTransaction } from '../../db/transaction.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { Conflict, Precondition } from '../errors.ts';
import { assertDeliverableTarget, sealTarget } from './target.ts';
import { auditChannel, cleanChannelName, DUPLICATE_CHANNEL, loadChannelView, MAX_CHANNELS_PER_USER } from './view.ts';

// Stands in for the ciphertext between the insert (which assigns the id the AAD needs) and the update that follows
// in the same transaction; it never commits.
const SEALING = 'sealing';

/** Adds a delivery target. The URL check resolves DNS, so it runs before the transaction opens. */
export async function createChannel(ctx: ServiceContext, input: CreateChannelInput): Promise<ChannelView> {
  const userId = actingUserId(ctx);
  const name = cleanChannelName(input.name);
  await assertDeliverableTarget(input.target);
  try {
    return await withTransaction(ctx, async (tx) => {
      // The user's row lock serialises this user's creates, so two at once cannot both see room for one more.
      await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for('update');
      const [live] = await tx
        .select({ n: count() })
        .from(notificationChannels)
        .where(and(eq(notificationChannels.userId, userId), notDeleted(notificationChannels)));
      if ((live?.n ?? 0) >= MAX_CHANNELS_PER_USER) {
        throw new Precondition(`You can have at most ${MAX_CHANNELS_PER_USER} notification channels; delete one first`);
      }
      const [inserted] = await tx
        .insert(notificationChannels)
        .values({
          userId,
          kind: input.target.kind,
          name,
          targetEnc: SEALING,
          events: input.events,
          isActive: input.isActive,
        })
        .$returningId();
      if (!inserted) throw new Error('notification channel insert returned no id');
      await tx
        .update(notificationChannels)
        .set({ targetEnc: sealTarget(inserted.id, input.target) })
        .where(eq(notificationChannels.id, inserted.id));
      const channel = await loadChannelView(tx, ctx, inserted.id);
      await emitAudit(tx, ctx, {
        action: 'notification_channel.create',
        resourceType: 'notification_channel',
        resourceId: channel.id,
        newValue: auditChannel(channel),
      });
      return channel;
    });
  } catch (error) {
    if (isDuplicateKey(error)) throw new Conflict(DUPLICATE_CHANNEL);
    throw error;
  }
}
