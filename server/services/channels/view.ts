import { and, eq } from 'drizzle-orm';
import { notificationChannels } from '#drizzle/schema/notification_channels.ts';
import type { ChannelView } from '#shared/schemas/channels.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import type { DbOrTx } from '../../db/transaction.ts';
import { sanitizeText } from '../../lib/sanitize.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { InvalidInput, NotFound } from '../errors.ts';
import { openTarget, targetHint } from './target.ts';

/** Reads load these; the ciphertext only to derive the hint, and it is dropped before anything is returned. */
export const channelColumns = {
  id: notificationChannels.id,
  kind: notificationChannels.kind,
  name: notificationChannels.name,
  events: notificationChannels.events,
  isActive: notificationChannels.isActive,
  lastError: notificationChannels.lastError,
  lastDeliveredAt: notificationChannels.lastDeliveredAt,
  createdAt: notificationChannels.createdAt,
  updatedAt: notificationChannels.updatedAt,
  targetEnc: notificationChannels.targetEnc,
};

type ChannelRow = Pick<typeof notificationChannels.$inferSelect, keyof typeof channelColumns>;

/** The caller's live channel `id`, scoped in the query: another user's id is NotFound like a missing one. */
export function ownedChannel(ctx: ServiceContext, id: number) {
  return and(
    eq(notificationChannels.id, id),
    eq(notificationChannels.userId, actingUserId(ctx)),
    notDeleted(notificationChannels),
  );
}

export function toChannelView(ctx: ServiceContext, row: ChannelRow): ChannelView {
  const { targetEnc, ...safe } = row;
  let hint: string | null = null;
  try {
    hint = targetHint(openTarget(row.id, targetEnc));
  } catch {
    ctx.log.warn({ notificationChannelId: row.id }, 'channel target could not be decrypted for a hint');
  }
  return { ...safe, targetHint: hint };
}

/** Loads the caller's channel or throws NotFound; `forUpdate` locks it for the rest of the transaction. */
export async function loadChannelView(
  db: DbOrTx,
  ctx: ServiceContext,
  id: number,
  options: { forUpdate?: boolean } = {},
): Promise<ChannelView> {
  const query = db.select(channelColumns).from(notificationChannels).where(ownedChannel(ctx, id));
  const [row] = options.forUpdate ? await query.for('update') : await query;
  if (!row) throw new NotFound('Notification channel');
  return toChannelView(ctx, row);
}

export function cleanChannelName(name: string): string {
  const clean = sanitizeText(name);
  if (!clean) throw new InvalidInput('The channel name must contain text, not only markup');
  return clean;
}

/** What audit rows record of a channel: never the target. */
export function auditChannel(channel: Pick<ChannelView, 'kind' | 'name' | 'events' | 'isActive'>) {
  return { kind: channel.kind, name: channel.name, events: channel.events, isActive: channel.isActive };
}

export const DUPLICATE_CHANNEL = 'You already have a notification channel with this name';
/** Each notification fans out to every channel, so their number is bounded. */
export const MAX_CHANNELS_PER_USER = 20;
