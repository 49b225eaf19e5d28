import { mysqlEnum, mysqlTable, uniqueIndex, varchar } from 'drizzle-orm/mysql-core';
import { ASSET_CLASSES } from '#shared/enums.ts';
import { id, money, timestamps } from './_columns.ts';

/**
 * Contract specifications by root symbol (MNQ for MNQ1!, MNQZ5, …): the multiplier turns price moves into money,
 * tick and lot sizes bound order prices and quantities. Reference data with no foreign keys; seeded by migration.
 */
export const instruments = mysqlTable(
  'instruments',
  {
    id: id(),
    root: varchar('root', { length: 16 }).notNull(),
    assetClass: mysqlEnum('asset_class', ASSET_CLASSES).notNull().default('future'),
    description: varchar('description', { length: 200 }),
    exchange: varchar('exchange', { length: 16 }),
    // Currency value of a one-point move per contract (ES 50 → one point is $50).
    multiplier: money('multiplier').notNull().default('1'),
    tickSize: money('tick_size').notNull(),
    lotSize: money('lot_size').notNull().default('1'),
    ...timestamps(),
  },
  (t) => [uniqueIndex('instruments_root_uq').on(t.root)],
);
