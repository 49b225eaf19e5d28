import { z } from 'zod';

/** A database id as the API accepts it: a positive safe integer. */
export const idSchema = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** Free text with a length bound; the server strips any markup before storing it. */
export const text = (max: number) => z.string().trim().max(max);
export const requiredText = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);

export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .pipe(z.email({ message: 'must be a valid email address' }));

/** An optional date range; when both ends are given, `from` must be strictly earlier than `to`. */
export const dateRange = z
  .object({ from: z.coerce.date().optional(), to: z.coerce.date().optional() })
  .refine((range) => !range.from || !range.to || range.from < range.to, {
    message: '`from` must be earlier than `to`',
    path: ['to'],
  });

/**
 * A non-negative decimal(20,8) as a string: at most 12 integer digits and 8 decimals, no sign, no exponent. Money and
 * quantities travel as strings so they never pass through a float.
 */
export const decimalString = z
  .string()
  .trim()
  .regex(/^\d{1,12}(\.\d{1,8})?$/, 'must be a decimal with at most 12 integer digits and 8 decimals');

/** A decimalString greater than zero. */
export const positiveDecimalString = decimalString.refine((value) => /[1-9]/.test(value), 'must be greater than 0');
