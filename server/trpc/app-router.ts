/**
 * The whole API. The React app imports only the type: `import type { AppRouter } from 'fillpath/router'`.
 */
import { router } from './init.ts';
import { accountRouter } from './routers/account.ts';
import { adminRouter } from './routers/admin.ts';
import { authRouter } from './routers/auth.ts';
import { brokersRouter } from './routers/brokers.ts';
import { healthRouter } from './routers/health.ts';
import { notificationsRouter } from './routers/notifications.ts';
import { portfolioRouter } from './routers/portfolio.ts';
import { routingRouter } from './routers/routing.ts';
import { strategiesRouter } from './routers/strategies.ts';
import { webhooksRouter } from './routers/webhooks.ts';

export const appRouter = router({
  auth: authRouter,
  account: accountRouter,
  strategies: strategiesRouter,
  brokers: brokersRouter,
  routing: routingRouter,
  webhooks: webhooksRouter,
  portfolio: portfolioRouter,
  notifications: notificationsRouter,
  admin: adminRouter,
  health: healthRouter,
});

export type AppRouter = typeof appRouter;
