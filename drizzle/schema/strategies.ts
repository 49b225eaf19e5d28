import { boolean, foreignKey, int, mysqlEnum, mysqlTable, uniqueIndex, varchar } from 'drizzle-orm/mysql-core';
import { EXECUTION_MODES, ORDER_TYPES, SIZING_TYPES, TIMES_IN_FORCE } from '#shared/enums.ts';
import { id, json, money, ref, softDelete, timestamps, utc } from './_columns.ts';
import { users } from './users.ts';

/**
 * Allowed source addresses: entries are IPs, CIDRs or the preset `tradingview` (TradingView's published egress
 * addresses), e.g. `["tradingview", "203.0.113.7"]`. NULL allows any address.
 */
export type AllowedIps = string[];

/**
 * ON DELETE RESTRICT on user_id: a strategy carries trading history (logs, orders, trades), so a user who owns one
 * cannot be hard-deleted; deleting a strategy in the product is a soft delete.
 */
export const strategies = mysqlTable(
  'strategies',
  {
    id: id(),
    userId: ref('user_id').notNull(),
    name: varchar('name', { length: 100 }).notNull(),
    description: varchar('description', { length: 2000 }),
    // The webhook token is looked up by its SHA-256 hex; the encrypted copy lets getWebhookUrl show it again.
    webhookTokenHash: varchar('webhook_token_hash', { length: 64 }).notNull(),
    webhookTokenEnc: varchar('webhook_token_enc', { length: 512 }).notNull(),
    passphraseHash: varchar('passphrase_hash', { length: 255 }),
    isActive: boolean('is_active').notNull().default(true),
    executionMode: mysqlEnum('execution_mode', EXECUTION_MODES).notNull().default('auto'),
    allowedIps: json<AllowedIps>('allowed_ips'),
    // NULL disables the staleness check.
    maxSignalAgeS: int('max_signal_age_s', { unsigned: true }).default(300),
    sizingType: mysqlEnum('sizing_type', SIZING_TYPES).notNull().default('fixed_quantity'),
    sizingValue: money('sizing_value').notNull().default('1'),
    useSignalQuantity: boolean('use_signal_quantity').notNull().default(true),
    // Conservative defaults: shorting and reversing are opt-in because they can open risk the trader did not expect.
    allowShort: boolean('allow_short').notNull().default(false),
    allowReverse: boolean('allow_reverse').notNull().default(false),
    maxPositionQty: money('max_position_qty'),
    defaultOrderType: mysqlEnum('default_order_type', ORDER_TYPES).notNull().default('market'),
    defaultTif: mysqlEnum('default_tif', TIMES_IN_FORCE).notNull().default('day'),
    // Orders to live broker connections need this set (an explicit, audited opt-in).
    liveEnabledAt: utc('live_enabled_at'),
    ratePerMinute: int('rate_per_minute', { unsigned: true }).notNull().default(60),
    ratePerHour: int('rate_per_hour', { unsigned: true }).notNull().default(500),
    ...timestamps(),
    ...softDelete(),
  },
  (t) => [
    foreignKey({ name: 'strategies_user_id_fk', columns: [t.userId], foreignColumns: [users.id] }).onDelete('restrict'),
    // Webhook ingestion: token → strategy. No `live` here: a token must never map to two rows, even a deleted one.
    uniqueIndex('strategies_webhook_token_hash_uq').on(t.webhookTokenHash),
    // strategies.list / create: names are unique among a user's live strategies (also serves the user_id FK).
    uniqueIndex('strategies_user_id_name_live_uq').on(t.userId, t.name, t.live),
  ],
);
