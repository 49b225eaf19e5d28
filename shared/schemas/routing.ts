import { z } from 'zod';
import { paginationInput } from '../pagination.ts';
import { idSchema, positiveDecimalString } from './common.ts';

const SYMBOL = /^[A-Za-z0-9!._/:-]{1,32}$/;
// Keys that would reach an object's prototype when the map is rebuilt as a plain object.
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
export const MAX_SYMBOL_MAP_ENTRIES = 100;

const symbol = z.string().regex(SYMBOL, 'must be 1-32 letters, digits or ! . _ / : -');

/** TradingView symbol → broker symbol, e.g. `{"MNQ1!": "MNQZ5", "BTCUSD": "BTC/USD"}`. */
export const symbolMap = z
  .record(
    symbol.refine((key) => !FORBIDDEN_KEYS.has(key), 'is not allowed as a symbol'),
    symbol,
  )
  .refine((map) => Object.keys(map).length <= MAX_SYMBOL_MAP_ENTRIES, {
    message: `must have at most ${MAX_SYMBOL_MAP_ENTRIES} entries`,
  });

const priority = z.number().int().min(-1000).max(1000);

export const createRoutingRuleInput = z.strictObject({
  strategyId: idSchema,
  brokerConnectionId: idSchema,
  quantityMultiplier: positiveDecimalString.default('1'),
  symbolMap: symbolMap.nullable().default(null),
  priority: priority.default(0),
  isActive: z.boolean().default(true),
});
export type CreateRoutingRuleInput = z.infer<typeof createRoutingRuleInput>;

/** The strategy and connection of a rule are fixed; route elsewhere with a new rule. `symbolMap: null` clears it. */
export const updateRoutingRuleInput = z
  .strictObject({
    id: idSchema,
    quantityMultiplier: positiveDecimalString.optional(),
    symbolMap: symbolMap.nullable().optional(),
    priority: priority.optional(),
    isActive: z.boolean().optional(),
  })
  .refine(
    (input) =>
      input.quantityMultiplier !== undefined ||
      input.symbolMap !== undefined ||
      input.priority !== undefined ||
      input.isActive !== undefined,
    { message: 'nothing to update' },
  );
export type UpdateRoutingRuleInput = z.infer<typeof updateRoutingRuleInput>;

export const routingRuleIdInput = z.strictObject({ id: idSchema });

export const listRoutingRulesInput = paginationInput
  .extend({ strategyId: idSchema.optional() })
  .strict()
  .default({ limit: 25 });
export type ListRoutingRulesInput = z.infer<typeof listRoutingRulesInput>;

export const routingRuleView = z.object({
  id: z.number(),
  strategyId: z.number(),
  brokerConnectionId: z.number(),
  quantityMultiplier: z.string(),
  symbolMap: z.record(z.string(), z.string()).nullable(),
  priority: z.number(),
  isActive: z.boolean(),
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type RoutingRuleView = z.infer<typeof routingRuleView>;

export const routingRulePage = z.object({ items: z.array(routingRuleView), nextCursor: z.number().nullable() });
