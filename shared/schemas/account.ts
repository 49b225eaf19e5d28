import { z } from 'zod';
import { USER_ROLES } from '../enums.ts';

/**
 * The trader's own kill switch: while false, no signal of the user becomes an order. An admin's lock stops trading
 * too and only an admin can lift it; the trader's switch cannot override it.
 */
export const setTradingEnabledInput = z.strictObject({ enabled: z.boolean() });
export type SetTradingEnabledInput = z.infer<typeof setTradingEnabledInput>;

/** Both halves of the kill switch: trading runs only while `tradingEnabled` and not `tradingLockedByAdmin`. */
export const tradingState = z.object({ tradingEnabled: z.boolean(), tradingLockedByAdmin: z.boolean() });
export type TradingState = z.infer<typeof tradingState>;

/** The caller's own account, as `account.get` and `auth.me` answer it: never the password hash. */
export const accountView = tradingState.extend({
  id: z.number(),
  email: z.string(),
  name: z.string(),
  role: z.enum(USER_ROLES),
  lastLoginAt: z.date().nullable(),
  createdAt: z.date(),
});
export type AccountView = z.infer<typeof accountView>;
