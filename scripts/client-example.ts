/**
 * A typed tRPC session exactly as the React app does it: the AppRouter type, httpBatchLink with superjson and a
 * batch size within the server's limit. Run against a running api: `npm run client:example -- [api-url]`
 * (default http://127.0.0.1:3000).
 */
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter } from '../server/trpc/app-router.ts';

const apiUrl = process.argv[2] ?? 'http://127.0.0.1:3000';

const client = createTRPCClient<AppRouter>({
  links: [httpBatchLink({ url: `${apiUrl}/api/v1/trpc`, transformer: superjson, maxItems: 10 })],
});

const health = await client.health.check.query();
// superjson brings `time` back as a Date, not a string.
console.log(`health: ${health.status} at ${health.time.toISOString()}`);
