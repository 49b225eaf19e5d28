import { z } from 'zod';
import { USER_ROLES } from '../enums.ts';

/** The global kill switch: while false, no signal of the user becomes an order. */
export const setTradingEnabledInput = z.strictObject({ enabled: z.boolean() });
export type SetTradingEnabledInput = z.infer<typeof setTradingEnabledInput>;

export const accountView = z.object({
  id: z.number(),
  email: z.string(),
  name: z.string(),
  role: z.enum(USER_ROLES),
  tradingEnabled: z.boolean(),
  createdAt: z.date(),
});
export type AccountView = z.infer<typeof accountView>;
