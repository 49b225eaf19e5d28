/**
 * notifications.onEvent as a browser app uses it: a typed @trpc/client with httpSubscriptionLink over a real
 * EventSource (undici's: Node 24 has none without a flag), the access token in connectionParams, and everything the
 * subscription reports recorded so a test can wait for it.
 */
import { createTRPCClient, httpSubscriptionLink, type TRPCClientError } from '@trpc/client';
import superjson from 'superjson';
import { EventSource } from 'undici';
import type { AppRouter } from '../../../server/trpc/app-router.ts';
import type { AppEvent, OnEventInput, WebhookEvent } from '../../../shared/schemas/events.ts';
import { type SignedInUser, signUp } from '../../helpers/client.ts';

export interface ReceivedEvent {
  id: string;
  data: AppEvent;
}

export interface EventSubscription {
  events: ReceivedEvent[];
  /** The error that ended the subscription, if any. */
  error: TRPCClientError<AppRouter> | null;
  /** Errors the link reported while reconnecting (retryable ones: the subscription goes on). */
  reconnectErrors: TRPCClientError<AppRouter>[];
  /** Resolves with the events received so far once `done(events)` holds; rejects after `timeoutMs`. */
  until(done: (events: ReceivedEvent[]) => boolean, timeoutMs?: number): Promise<ReceivedEvent[]>;
  /** Resolves once the subscription ended with an error. */
  failed(timeoutMs?: number): Promise<TRPCClientError<AppRouter>>;
  /** Resolves the next time the link reports it is (re)connecting because of an error. */
  reconnecting(timeoutMs?: number): Promise<TRPCClientError<AppRouter>>;
  /** Resolves once the server's stream has started (the `connected` event). */
  started: Promise<void>;
  unsubscribe(): void;
}

export function subscribeEvents(baseUrl: string, token: string | undefined, input?: OnEventInput): EventSubscription {
  const client = createTRPCClient<AppRouter>({
    links: [
      httpSubscriptionLink({
        url: `${baseUrl}/api/v1/trpc`,
        transformer: superjson,
        EventSource,
        // A browser waits a few seconds before reconnecting a dropped stream; tests need not.
        eventSourceOptions: { node: { reconnectionTime: 250 } },
        connectionParams: () => (token === undefined ? {} : { token }),
      }),
    ],
  });
  const watchers = new Set<() => void>();
  const notify = () => {
    for (const watcher of [...watchers]) watcher();
  };
  let markStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => {
    markStarted = resolve;
  });
  const subscription: EventSubscription = {
    events: [],
    error: null,
    reconnectErrors: [],
    until: (done, timeoutMs = 15_000) =>
      waitUntil(
        watchers,
        () => (done(subscription.events) ? subscription.events : undefined),
        timeoutMs,
        () => JSON.stringify(subscription.events.map((e) => e.data)),
      ),
    failed: (timeoutMs = 15_000) =>
      waitUntil(
        watchers,
        () => subscription.error ?? undefined,
        timeoutMs,
        () => 'no error',
      ),
    reconnecting: (timeoutMs = 15_000) => {
      const seen = subscription.reconnectErrors.length;
      return waitUntil(
        watchers,
        () => subscription.reconnectErrors[seen],
        timeoutMs,
        () => 'still connected',
      );
    },
    started,
    unsubscribe: () => handle.unsubscribe(),
  };
  const handle = client.notifications.onEvent.subscribe(input, {
    onStarted: () => markStarted(),
    onData: (event) => {
      subscription.events.push({ id: event.id, data: event.data });
      notify();
    },
    onError: (error) => {
      subscription.error = error;
      notify();
    },
    onConnectionStateChange: (state) => {
      if (state.state === 'connecting' && state.error) {
        subscription.reconnectErrors.push(state.error as TRPCClientError<AppRouter>);
        notify();
      }
    },
  });
  return subscription;
}

/** Resolves with `check()`'s first defined value, re-checked on every notification; rejects after `timeoutMs`. */
function waitUntil<T>(
  watchers: Set<() => void>,
  check: () => T | undefined,
  timeoutMs: number,
  describe: () => string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const watcher = () => {
      const value = check();
      if (value === undefined) return;
      clearTimeout(timer);
      watchers.delete(watcher);
      resolve(value);
    };
    const timer = setTimeout(() => {
      watchers.delete(watcher);
      reject(new Error(`not reached within ${timeoutMs} ms; so far: ${describe()}`));
    }, timeoutMs);
    watchers.add(watcher);
    watcher();
  });
}

/** `lastEventId: '0-0'`: everything a new user's stream holds, so no event can slip in before the subscription. */
export const FROM_START = { lastEventId: '0-0' };

export async function traderWithStrategy(url: string): Promise<{ trader: SignedInUser; strategyId: number }> {
  const trader = await signUp(url);
  const created = await trader.client.strategies.create.mutate({ name: `Events ${trader.id}` });
  return { trader, strategyId: created.strategy.id };
}

/** A simulated alert that cannot be read: rejected and logged, one `webhook` event, no trading. Returns the log id. */
export async function refusedAlert(trader: SignedInUser, strategyId: number): Promise<number> {
  const answer = await trader.client.webhooks.simulateSignal.mutate({ strategyId, payload: 'not an alert' });
  if (answer.ok) throw new Error(`expected a refusal, got ${JSON.stringify(answer)}`);
  return answer.id;
}

export const receipts = (events: ReceivedEvent[]) =>
  events.flatMap((e) => (e.data.kind === 'webhook' ? [e.data as WebhookEvent & { at: Date }] : []));
export const receiptIds = (events: ReceivedEvent[]) => receipts(events).map((r) => r.webhookLogId);
export const hasReceipts = (ids: number[]) => (events: ReceivedEvent[]) =>
  ids.every((id) => receiptIds(events).includes(id));

/** Stream ids in publication order: milliseconds, then sequence. */
export function byEventId(a: string, b: string): number {
  const [aMs = 0, aSeq = 0] = a.split('-').map(Number);
  const [bMs = 0, bSeq = 0] = b.split('-').map(Number);
  return aMs - bMs || aSeq - bSeq;
}
