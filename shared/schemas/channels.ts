import { z } from 'zod';
import { CHANNEL_KINDS, NOTIFICATION_TYPES } from '../enums.ts';
import { paginationInput } from '../pagination.ts';
import { idSchema, requiredText } from './common.ts';

/**
 * An absolute http(s) URL. Whether plain http is allowed and where the host may point (public addresses only) is
 * checked by the server, which can resolve names.
 */
const targetUrl = z
  .string()
  .trim()
  .max(2048)
  .pipe(z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }));

/** Where a channel delivers. Each kind carries its own fields; the whole target is stored encrypted. */
export const channelTarget = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('discord'), url: targetUrl }),
  z.strictObject({ kind: z.literal('slack'), url: targetUrl }),
  z.strictObject({
    kind: z.literal('telegram'),
    botToken: z.string().regex(/^\d{3,20}:[A-Za-z0-9_-]{20,100}$/, 'must look like 123456:ABC-token'),
    // A numeric chat id (groups and channels are negative) or a public @channel name.
    chatId: z.string().regex(/^(-?\d{1,20}|@[A-Za-z0-9_]{5,32})$/, 'must be a numeric chat id or @channelname'),
  }),
  z.strictObject({
    kind: z.literal('webhook'),
    url: targetUrl,
    // Signs each delivery (HMAC-SHA256) so the receiver can tell it came from us. When omitted, the server keeps
    // the channel's current secret or generates one and returns it once (`signingSecret`).
    secret: z.string().min(16, 'must be at least 16 characters').max(256).optional(),
  }),
]);
export type ChannelTarget = z.infer<typeof channelTarget>;

/** The notification types a channel receives; null means every type. */
const events = z
  .array(z.enum(NOTIFICATION_TYPES))
  .min(1, 'choose at least one event, or null for all')
  .max(NOTIFICATION_TYPES.length)
  .transform((list) => [...new Set(list)])
  .nullable();

const channelName = requiredText(100);

export const createChannelInput = z.strictObject({
  name: channelName,
  target: channelTarget,
  events: events.default(null),
  isActive: z.boolean().default(true),
});
export type CreateChannelInput = z.infer<typeof createChannelInput>;

/** A new target must be of the channel's kind; the server checks it. */
export const updateChannelInput = z
  .strictObject({
    id: idSchema,
    name: channelName.optional(),
    target: channelTarget.optional(),
    events: events.optional(),
    isActive: z.boolean().optional(),
  })
  .refine(
    (input) =>
      input.name !== undefined ||
      input.target !== undefined ||
      input.events !== undefined ||
      input.isActive !== undefined,
    { message: 'nothing to update' },
  );
export type UpdateChannelInput = z.infer<typeof updateChannelInput>;

export const channelIdInput = z.strictObject({ id: idSchema });

export const listChannelsInput = paginationInput.strict().default({ limit: 25 });

/** What the API shows of a channel: never the target, only a hint (the URL's host, or the Telegram chat). */
export const channelView = z.object({
  id: z.number(),
  kind: z.enum(CHANNEL_KINDS),
  name: z.string(),
  targetHint: z.string().nullable(),
  events: z.array(z.string()).nullable(),
  isActive: z.boolean(),
  lastError: z.string().nullable(),
  lastDeliveredAt: z.date().nullable(),
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type ChannelView = z.infer<typeof channelView>;

export const channelPage = z.object({ items: z.array(channelView), nextCursor: z.number().nullable() });

/**
 * The answer of channels.create and channels.update: the view plus, only when the server generated a webhook's
 * signing secret just now, that secret. It is shown this once; the trader copies it into the receiver.
 */
export const savedChannel = channelView.extend({ signingSecret: z.string().optional() });
export type SavedChannel = z.infer<typeof savedChannel>;

/** What channels.test answers when the test message was accepted (a failure answers an error). */
export const channelTestResult = z.object({ ok: z.literal(true), kind: z.enum(CHANNEL_KINDS) });
