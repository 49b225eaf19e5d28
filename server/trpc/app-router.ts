/**
 * The whole API. The React app imports only the type: `import type { AppRouter } from 'fillpath/router'`.
 */
import { router } from './init.ts';
import { authRouter } from './routers/auth.ts';
import { healthRouter } from './routers/health.ts';

export const appRouter = router({
  auth: authRouter,
  health: healthRouter,
});

export type AppRouter = typeof appRouter;
