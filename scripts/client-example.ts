/**
 * A typed tRPC session exactly as the React app does it: the AppRouter type, httpBatchLink with superjson and a
 * batch size within the server's limit for queries and mutations, and httpSubscriptionLink for the real-time events
 * of notifications.onEvent (an EventSource cannot send headers, so the access token goes in connectionParams). It
 * signs in, lists the strategies, subscribes to events and prints them while a simulated signal trades.
 *
 *   npm run client:example -- [api-url] [email password]
 *
 * The api url defaults to http://127.0.0.1:3000. Without credentials it registers a throwaway trader; a trader with no
 * routed strategy gets one routed to Alpaca paper with the local fake's key (`npm run fakes`), which trades when the
 * api and worker point ALPACA_PAPER_URL at it. Either way the events of the signal are printed as they arrive.
 */
import { randomUUID } from 'node:crypto';
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import superjson from 'superjson';
import { EventSource } from 'undici';
import type { AppRouter } from '../server/trpc/app-router.ts';
import type { AppEvent } from '../shared/schemas/events.ts';

const apiUrl = process.argv[2] ?? 'http://127.0.0.1:3000';
const trpcUrl = `${apiUrl}/api/v1/trpc`;
/** How long to watch the signal's events before giving up. */
const WATCH_MS = 20_000;

function clientFor(accessToken?: string) {
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url: trpcUrl,
          transformer: superjson,
          // Node 24 has no global EventSource without a flag; a browser app leaves this out.
          EventSource,
          connectionParams: () => ({ token: accessToken ?? '' }),
        }),
        false: httpBatchLink({
          url: trpcUrl,
          transformer: superjson,
          maxItems: 10,
          headers: () => (accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
        }),
      }),
    ],
  });
}
type Client = ReturnType<typeof clientFor>;

const anonymous = clientFor();
const health = await anonymous.health.check.query();
// superjson brings `time` back as a Date, not a string.
console.log(`health: ${health.status} at ${health.time.toISOString()}`);

const [givenEmail, givenPassword] = process.argv.slice(3);
const email = givenEmail ?? `example-${randomUUID().slice(0, 8)}@example.com`;
const password = givenPassword ?? `example-${randomUUID()}`;
if (!givenEmail) {
  await anonymous.auth.register.mutate({ email, password, name: 'Client Example' });
  console.log(`registered ${email}`);
}
const session = await anonymous.auth.login.mutate({ email, password });
console.log(`signed in as ${session.user.email}`);
const client = clientFor(session.accessToken);

const strategies = await client.strategies.list.query({ limit: 25 });
console.log(`strategies: ${strategies.items.map((s) => `#${s.id} ${s.name}`).join(', ') || 'none'}`);
const strategyId = await routedStrategy(client, strategies.items);

// The signal goes out once the stream has started (subscribed), so none of its events can slip past.
let finish: (reason: string) => void = () => undefined;
const finished = new Promise<string>((resolve) => {
  finish = resolve;
});
let markStarted: () => void = () => undefined;
const started = new Promise<void>((resolve) => {
  markStarted = resolve;
});
const subscription = client.notifications.onEvent.subscribe(undefined, {
  onStarted: () => {
    console.log('subscribed to notifications.onEvent');
    markStarted();
  },
  onData: ({ id, data }) => {
    console.log(`event ${id}  ${describe(data)}`);
    // The trader's notification (order filled, rejected, failed; signal ignored…) says how the signal ended.
    if (data.kind === 'notification') finish(data.type);
    if (data.kind === 'webhook' && data.status !== 'accepted') finish(`the signal was ${data.status}`);
  },
  onError: (error) => finish(`the subscription failed: ${error.message}`),
});
const timer = setTimeout(() => finish(`nothing more within ${WATCH_MS / 1000} s`), WATCH_MS);
if ((await Promise.race([started.then(() => 'started'), finished])) === 'started') {
  const answer = await client.webhooks.simulateSignal.mutate({
    strategyId,
    payload: { ticker: 'AAPL', action: 'buy', quantity: '1', idempotencyKey: `example-${randomUUID()}` },
  });
  console.log(`simulated signal: ${answer.status} (log #${answer.id})`);
}
console.log(`done: ${await finished}`);
clearTimeout(timer);
subscription.unsubscribe();
await client.auth.logout.mutate({ refreshToken: session.refreshToken });

/** The id of a strategy with an active routing rule: the first listed, or a new one routed to fake Alpaca paper. */
async function routedStrategy(api: Client, listed: Array<{ id: number; name: string }>): Promise<number> {
  for (const strategy of listed) {
    const rules = await api.routing.list.query({ strategyId: strategy.id, limit: 1 });
    if (rules.items.some((rule) => rule.isActive)) {
      console.log(`trading on strategy #${strategy.id} ${strategy.name}`);
      return strategy.id;
    }
  }
  const created = await api.strategies.create.mutate({ name: `Client example ${randomUUID().slice(0, 4)}` });
  const connection = await api.brokers.connect.mutate({
    broker: 'alpaca',
    name: `Fake Alpaca ${randomUUID().slice(0, 4)}`,
    environment: 'paper',
    credentials: { keyId: 'PKFAKEKEY0000000001', secretKey: 'fake-secret' },
  });
  await api.routing.create.mutate({ strategyId: created.strategy.id, brokerConnectionId: connection.id });
  console.log(`created strategy #${created.strategy.id}, routed to ${connection.name}`);
  return created.strategy.id;
}

function describe(event: AppEvent): string {
  const at = event.at.toISOString().slice(11, 23);
  switch (event.kind) {
    case 'webhook':
      return `${at} webhook   log #${event.webhookLogId} ${event.status}${event.code ? ` (${event.code})` : ''}`;
    case 'order':
      return `${at} order     #${event.orderId} ${event.side} ${event.quantity} ${event.symbol}: ${event.status}, filled ${event.filledQty}${event.avgFillPrice ? ` at ${event.avgFillPrice}` : ''}`;
    case 'notification':
      return `${at} notice    [${event.severity}] ${event.title}`;
  }
}
