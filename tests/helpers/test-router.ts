/** The real appRouter plus procedures that fail on purpose, to test error shapes over HTTP. */
import { z } from 'zod';
import { NotFound, RateLimited } from '../../server/services/errors.ts';
import { appRouter } from '../../server/trpc/app-router.ts';
import { mergeRouters, publicProcedure, router } from '../../server/trpc/init.ts';

export const LEAKY_MESSAGE = "ER_PARSE_ERROR near 'SELECT password_hash FROM users WHERE id = 7' at /srv/db.ts:42";

export const testRouter = mergeRouters(
  appRouter,
  router({
    test: router({
      echo: publicProcedure
        .input(z.object({ quantity: z.number().int().min(1), symbol: z.string().min(1).max(12) }))
        .query(({ input }) => input),
      missing: publicProcedure.query((): never => {
        throw new NotFound('Strategy');
      }),
      throttled: publicProcedure.mutation((): never => {
        throw new RateLimited('Too many requests, slow down', 7);
      }),
      boom: publicProcedure.query((): never => {
        throw new Error(LEAKY_MESSAGE);
      }),
    }),
  }),
);

export type TestRouter = typeof testRouter;
