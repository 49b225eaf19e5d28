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

/** An inclusive date range where `from` must come before `to`. */
export const dateRange = z
  .object({ from: z.coerce.date().optional(), to: z.coerce.date().optional() })
  .refine((range) => !range.from || !range.to || range.from < range.to, {
    message: '`from` must be earlier than `to`',
    path: ['to'],
  });
