import { z } from 'zod';

/** Every list takes `{cursor?, limit}` and answers `{items, nextCursor}`; the cursor is opaque to clients. */
export const paginationInput = z.object({
  cursor: z.number().int().positive().optional(),
  limit: z.number().int().min(1).max(100).default(25),
});
export type PaginationInput = z.infer<typeof paginationInput>;

export interface Page<T> {
  items: T[];
  nextCursor: number | null;
}
