/**
 * The whole API. The React app imports only the type: `import type { AppRouter } from 'fillpath/router'`.
 */
import { router } from './init.ts';
import { healthRouter } from './routers/health.ts';

export const appRouter = router({
  health: healthRouter,
});

export type AppRouter = typeof appRouter;
