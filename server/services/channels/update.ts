import { eq } from 'drizzle-orm';
import { notificationChannels } from '#drizzle/schema/notification_channels.ts';
import type { ChannelView, UpdateChannelInput } from '#shared/schemas/channels.ts';
import { emitAudit } from '../../audit/emit.ts';
import { isDuplicateKey } from '../../db/errors.ts';
import { withTransaction } from '../../db/transaction.ts';
import type { ServiceContext } from '../context.ts';
import { Conflict, InvalidInput } from '../errors.ts';
import { assertDeliverableTarget, sealTarget } from './target.ts';
import { auditChannel, cleanChannelName, DUPLICATE_CHANNEL, loadChannelView } from './view.ts';

const UPDATABLE = ['name', 'target', 'events', 'isActive'] as const;

/**
 * Renames, retargets, resubscribes or (de)activates a channel. A new target must be of the channel's kind and is
 * checked (DNS included) before the transaction; a new target also clears the last delivery error.
 */
export async function updateChannel(ctx: ServiceContext, input: UpdateChannelInput): Promise<ChannelView> {
  const name = input.name === undefined ? undefined : cleanChannelName(input.name);
  const current = await loadChannelView(ctx.db, ctx, input.id);
  if (input.target) {
    if (input.target.kind !== current.kind) {
      throw new InvalidInput(`A ${current.kind} channel needs a ${current.kind} target; create a new channel instead`);
    }
    await assertDeliverableTarget(input.target);
  }
  try {
    return await withTransaction(ctx, async (tx) => {
      // Loaded again under a lock: the row may have changed or gone while DNS was answering.
      const before = await loadChannelView(tx, ctx, input.id, { forUpdate: true });
      const changes: Partial<typeof notificationChannels.$inferInsert> = {};
      if (name !== undefined) changes.name = name;
      if (input.events !== undefined) changes.events = input.events;
      if (input.isActive !== undefined) changes.isActive = input.isActive;
      if (input.target) Object.assign(changes, { targetEnc: sealTarget(before.id, input.target), lastError: null });
      await tx.update(notificationChannels).set(changes).where(eq(notificationChannels.id, before.id));
      const after = await loadChannelView(tx, ctx, before.id);
      await emitAudit(tx, ctx, {
        action: 'notification_channel.update',
        resourceType: 'notification_channel',
        resourceId: before.id,
        oldValue: auditChannel(before),
        // Names the fields given, so a new target is visible in the trail without recording the target itself.
        newValue: { ...auditChannel(after), changed: UPDATABLE.filter((field) => input[field] !== undefined) },
      });
      return after;
    });
  } catch (error) {
    if (isDuplicateKey(error)) throw new Conflict(DUPLICATE_CHANNEL);
    throw error;
  }
}
