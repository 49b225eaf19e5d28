/**
 * SPEC §13 R6, other users' ids: every procedure input that names a row (`id`, `…Id`, `…Ids`), called by another user
 * with the owner's ids, answers exactly as for an id that does not exist (NOT_FOUND, or for filters and bulk marks the
 * same empty answer) and nothing of the owner's changes. CALLS is the matrix; a completeness check fails, naming the
 * procedure, when an id-taking input of the router is in neither CALLS nor EXEMPT. Administrator-only procedures take
 * other users' ids by design: every one of them answers FORBIDDEN to a non-admin.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditLogs,
  brokerConnections,
  brokerOrders,
  deadLetters,
  notificationChannels,
  notifications,
  openPositions,
  reconciliationRuns,
  routingRules,
  stagingTrades,
  strategies,
  trades,
  users,
  webhookLogs,
} from '../../drizzle/schema/index.ts';
import { BrokerRegistry, brokerUrlsFromEnv } from '../../server/brokers/registry.ts';
import { type FakeAlpaca, startFakeAlpaca } from '../fakes/alpaca.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type ApiClient, type SignedInUser, signUp, trpcFailure } from '../helpers/client.ts';
import { ADMIN_CHECKS, inputKeys, isAdminOnly, PROCEDURES } from '../helpers/procedures.ts';
import { rememberSecret } from '../helpers/secrets.ts';
import { closedTrade, heldPosition } from './portfolio/books.ts';
import { insertStaged } from './staging/fixtures.ts';

let server: TestApp;
let fakeAlpaca: FakeAlpaca;
let owner: SignedInUser;
let intruder: SignedInUser;
/** The owner's rows, one of each kind an id can name. */
const ids = {
  strategy: 0,
  connection: 0,
  rule: 0,
  channel: 0,
  log: 0,
  order: 0,
  run: 0,
  staged: 0,
  trade: 0,
  notification: 0,
  deadLetter: 0,
};
/** The intruder's own strategy and connection, for inputs that combine two ids. */
const mine = { strategy: 0, connection: 0 };
const MISSING = 999_999_999;
const CURVE_RANGE = { from: new Date('2026-01-01T00:00:00.000Z'), to: new Date('2026-03-01T00:00:00.000Z') };

beforeAll(async () => {
  // The intruder's own connection reaches this fake, so adoptBrokerPosition gets past the broker call to the
  // strategy it names. The owner's connection is never reached: its id is refused first.
  fakeAlpaca = await startFakeAlpaca();
  rememberSecret('fake-secret');
  const brokers = new BrokerRegistry({
    urls: { ...brokerUrlsFromEnv(), alpacaPaper: fakeAlpaca.url, alpacaLive: fakeAlpaca.url },
  });
  // Every row below costs the intruder two calls: the production per-user budgets are not what is tested here.
  const budget = { points: 10_000, durationS: 60 };
  server = await startTestApp({ brokers, rateLimits: { read: budget, write: budget, broker: budget } });
  const db = server.deps.database.db;
  owner = await signUp(server.url, 'Owner');
  intruder = await signUp(server.url, 'Intruder');

  const created = await owner.client.strategies.create.mutate({
    name: 'Owner strategy',
    passphrase: 'owner-passphrase',
  });
  rememberSecret(created.webhookToken, 'owner-passphrase');
  ids.strategy = created.strategy.id;
  ids.connection = (
    await owner.client.brokers.connect.mutate({
      broker: 'alpaca',
      name: 'Owner Alpaca',
      environment: 'paper',
      credentials: { keyId: 'PKOWNERKEY123456', secretKey: 'owner-alpaca-secret-value' },
    })
  ).id;
  rememberSecret('owner-alpaca-secret-value');
  ids.rule = (
    await owner.client.routing.create.mutate({ strategyId: ids.strategy, brokerConnectionId: ids.connection })
  ).id;
  ids.channel = (
    await owner.client.notifications.channels.create.mutate({
      name: 'Owner Discord',
      target: { kind: 'discord', url: 'https://8.8.8.8/api/webhooks/1/owner-token' },
    })
  ).id;
  // A failed log (replayable by its owner), written directly as ingestion would.
  const [log] = await db
    .insert(webhookLogs)
    .values({ strategyId: ids.strategy, receivedAt: new Date(), rawBody: '{"ticker":"MNQ1!"}', status: 'failed' })
    .$returningId();
  ids.log = log?.id ?? 0;
  // A pending order: a cancel that got through would cancel it at once, without a broker.
  const [order] = await db
    .insert(brokerOrders)
    .values({
      userId: owner.id,
      strategyId: ids.strategy,
      brokerConnectionId: ids.connection,
      symbol: 'AAPL',
      brokerSymbol: 'AAPL',
      side: 'buy',
      intent: 'open',
      orderType: 'market',
      tif: 'day',
      quantity: '1',
      status: 'pending',
    })
    .$returningId();
  ids.order = order?.id ?? 0;
  await db
    .update(brokerOrders)
    .set({ clientOrderId: `fp-${ids.order}` })
    .where(eq(brokerOrders.id, ids.order));
  const [run] = await db
    .insert(reconciliationRuns)
    .values({ brokerConnectionId: ids.connection, startedAt: new Date(), finishedAt: new Date(), status: 'ok' })
    .$returningId();
  ids.run = run?.id ?? 0;
  ids.staged = (await insertStaged(db, ids.strategy, { expiresAt: new Date(Date.now() + 3_600_000) })).id;
  const book = { strategyId: ids.strategy, connectionId: ids.connection };
  const ownerBooks = { ...owner, db };
  ids.trade = await closedTrade(ownerBooks, book, { pnl: '25', exit: '2026-01-10T15:00:00.000Z' });
  await heldPosition(ownerBooks, book, { symbol: 'MSFT', side: 'long', quantity: '2', avgEntryPrice: '400' });
  const [notification] = await db
    .insert(notifications)
    .values({
      userId: owner.id,
      type: 'order.filled',
      title: 'Filled',
      message: 'AAPL 1 @ 150',
      dispatchedAt: new Date(),
    })
    .$returningId();
  ids.notification = notification?.id ?? 0;
  const [letter] = await db
    .insert(deadLetters)
    .values({
      queue: 'orders',
      jobName: 'submit-order',
      userId: owner.id,
      payload: { orderId: ids.order },
      error: 'broker answered 503',
    })
    .$returningId();
  ids.deadLetter = letter?.id ?? 0;

  const myStrategy = await intruder.client.strategies.create.mutate({ name: 'Intruder strategy' });
  rememberSecret(myStrategy.webhookToken);
  mine.strategy = myStrategy.strategy.id;
  mine.connection = (
    await intruder.client.brokers.connect.mutate({
      broker: 'alpaca',
      name: 'Intruder Alpaca',
      environment: 'paper',
      credentials: { keyId: 'PKFAKEKEY0000000001', secretKey: 'fake-secret' },
    })
  ).id;
  // The intruder's books disagree with their (empty) broker account, so adopting names a strategy to take it.
  await db.insert(openPositions).values({
    strategyId: mine.strategy,
    brokerConnectionId: mine.connection,
    symbol: 'AAPL',
    side: 'long',
    quantity: '1',
    avgEntryPrice: '150',
    openedAt: new Date(),
  });
});
afterAll(async () => {
  await server.close();
  await fakeAlpaca.close();
});

/** Everything the owner has, as stored: compared before and after the intruder's calls. */
async function ownerState() {
  const db = server.deps.database.db;
  return {
    account: await db.select().from(users).where(eq(users.id, owner.id)),
    strategies: await db.select().from(strategies).where(eq(strategies.userId, owner.id)),
    connections: await db.select().from(brokerConnections).where(eq(brokerConnections.userId, owner.id)),
    rules: await db.select().from(routingRules).where(eq(routingRules.userId, owner.id)),
    channels: await db.select().from(notificationChannels).where(eq(notificationChannels.userId, owner.id)),
    logs: await db.select().from(webhookLogs).where(eq(webhookLogs.strategyId, ids.strategy)),
    orders: await db.select().from(brokerOrders).where(eq(brokerOrders.userId, owner.id)),
    runs: await db.select().from(reconciliationRuns).where(eq(reconciliationRuns.brokerConnectionId, ids.connection)),
    staged: await db.select().from(stagingTrades).where(eq(stagingTrades.strategyId, ids.strategy)),
    trades: await db.select().from(trades).where(eq(trades.userId, owner.id)),
    positions: await db.select().from(openPositions).where(eq(openPositions.strategyId, ids.strategy)),
    notifications: await db.select().from(notifications).where(eq(notifications.userId, owner.id)),
    deadLetters: await db.select().from(deadLetters).where(eq(deadLetters.userId, owner.id)),
  };
}

type Owned = keyof typeof ids;
type Call = (client: ApiClient, id: number) => Promise<unknown>;
/**
 * NOT_FOUND: refused exactly as a missing id (same code, same message). 'like missing': answered, exactly as for a
 * missing id (a filter that matches nothing, a bulk mark that marks nothing); for a query the owner's own call with
 * the same id does show their rows, so the empty answer is the scoping at work, not an empty fixture.
 */
type Answer = 'NOT_FOUND' | 'like missing';
const LIKE = 'like missing' satisfies Answer;

/**
 * `procedure(input key)`: the call puts the owner's id of kind `Owned` in that key; the answer is NOT_FOUND unless
 * the row says 'like missing'.
 */
const CALLS: Array<[name: string, call: Call, owned: Owned, answer?: Answer]> = [
  ['strategies.get(id)', (c, id) => c.strategies.get.query({ id }), 'strategy'],
  ['strategies.update(id)', (c, id) => c.strategies.update.mutate({ id, name: 'Taken over' }), 'strategy'],
  ['strategies.pause(id)', (c, id) => c.strategies.pause.mutate({ id }), 'strategy'],
  ['strategies.resume(id)', (c, id) => c.strategies.resume.mutate({ id }), 'strategy'],
  ['strategies.enableLive(id)', (c, id) => c.strategies.enableLive.mutate({ id, confirm: true }), 'strategy'],
  ['strategies.disableLive(id)', (c, id) => c.strategies.disableLive.mutate({ id }), 'strategy'],
  ['strategies.rotateWebhookToken(id)', (c, id) => c.strategies.rotateWebhookToken.mutate({ id }), 'strategy'],
  ['strategies.getWebhookUrl(id)', (c, id) => c.strategies.getWebhookUrl.mutate({ id }), 'strategy'],
  ['strategies.delete(id)', (c, id) => c.strategies.delete.mutate({ id }), 'strategy'],
  ['brokers.updateConnection(id)', (c, id) => c.brokers.updateConnection.mutate({ id, name: 'Mine' }), 'connection'],
  ['brokers.testConnection(id)', (c, id) => c.brokers.testConnection.mutate({ id }), 'connection'],
  ['brokers.getPositions(connectionId)', (c, id) => c.brokers.getPositions.query({ connectionId: id }), 'connection'],
  ['brokers.disconnect(id)', (c, id) => c.brokers.disconnect.mutate({ id }), 'connection'],
  ['brokers.cancelOrder(id)', (c, id) => c.brokers.cancelOrder.mutate({ id }), 'order'],
  ['brokers.reconcile(connectionId)', (c, id) => c.brokers.reconcile.mutate({ connectionId: id }), 'connection'],
  ['brokers.getReconciliationRun(id)', (c, id) => c.brokers.getReconciliationRun.query({ id }), 'run'],
  [
    'brokers.adoptBrokerPosition(connectionId)',
    (c, id) => c.brokers.adoptBrokerPosition.mutate({ connectionId: id, symbol: 'AAPL', strategyId: ids.strategy }),
    'connection',
  ],
  [
    'brokers.adoptBrokerPosition(strategyId)',
    (c, id) => c.brokers.adoptBrokerPosition.mutate({ connectionId: mine.connection, symbol: 'AAPL', strategyId: id }),
    'strategy',
  ],
  ['brokers.getOrders(strategyId)', (c, id) => c.brokers.getOrders.query({ strategyId: id }), 'strategy', LIKE],
  ['brokers.getOrders(connectionId)', (c, id) => c.brokers.getOrders.query({ connectionId: id }), 'connection', LIKE],
  [
    'brokers.getReconciliationRuns(connectionId)',
    (c, id) => c.brokers.getReconciliationRuns.query({ connectionId: id }),
    'connection',
    LIKE,
  ],
  [
    'routing.create(strategyId)',
    (c, id) => c.routing.create.mutate({ strategyId: id, brokerConnectionId: mine.connection }),
    'strategy',
  ],
  [
    'routing.create(brokerConnectionId)',
    (c, id) => c.routing.create.mutate({ strategyId: mine.strategy, brokerConnectionId: id }),
    'connection',
  ],
  ['routing.update(id)', (c, id) => c.routing.update.mutate({ id, priority: 5 }), 'rule'],
  ['routing.delete(id)', (c, id) => c.routing.delete.mutate({ id }), 'rule'],
  ['routing.list(strategyId)', (c, id) => c.routing.list.query({ strategyId: id }), 'strategy', LIKE],
  [
    'notifications.channels.update(id)',
    (c, id) => c.notifications.channels.update.mutate({ id, name: 'x' }),
    'channel',
  ],
  ['notifications.channels.delete(id)', (c, id) => c.notifications.channels.delete.mutate({ id }), 'channel'],
  ['notifications.channels.test(id)', (c, id) => c.notifications.channels.test.mutate({ id }), 'channel'],
  // Ids not the caller's are left alone, as missing ones are: nothing is marked and the answer counts nothing.
  ['notifications.markRead(ids)', (c, id) => c.notifications.markRead.mutate({ ids: [id] }), 'notification', LIKE],
  [
    'notifications.markAllRead(upToId)',
    (c, id) => c.notifications.markAllRead.mutate({ upToId: id }),
    'notification',
    LIKE,
  ],
  ['notifications.delete(id)', (c, id) => c.notifications.delete.mutate({ id }), 'notification'],
  ['webhooks.getLog(id)', (c, id) => c.webhooks.getLog.query({ id }), 'log'],
  ['webhooks.replay(id)', (c, id) => c.webhooks.replay.mutate({ id }), 'log'],
  [
    'webhooks.simulateSignal(strategyId)',
    (c, id) => c.webhooks.simulateSignal.mutate({ strategyId: id, payload: { ticker: 'MNQ1!', action: 'buy' } }),
    'strategy',
  ],
  ['webhooks.getLogs(strategyId)', (c, id) => c.webhooks.getLogs.query({ strategyId: id }), 'strategy', LIKE],
  ['webhooks.getStaged(strategyId)', (c, id) => c.webhooks.getStaged.query({ strategyId: id }), 'strategy', LIKE],
  ['webhooks.approveStaged(id)', (c, id) => c.webhooks.approveStaged.mutate({ id }), 'staged'],
  ['webhooks.rejectStaged(id)', (c, id) => c.webhooks.rejectStaged.mutate({ id, reason: 'not yours' }), 'staged'],
  [
    'portfolio.getStrategyDetail(strategyId)',
    (c, id) => c.portfolio.getStrategyDetail.query({ strategyId: id }),
    'strategy',
  ],
  [
    'portfolio.getEquityCurve(strategyId)',
    (c, id) => c.portfolio.getEquityCurve.query({ strategyId: id, ...CURVE_RANGE }),
    'strategy',
    LIKE,
  ],
  ['portfolio.getTrades(strategyId)', (c, id) => c.portfolio.getTrades.query({ strategyId: id }), 'strategy', LIKE],
  [
    'portfolio.getOpenPositions(strategyId)',
    (c, id) => c.portfolio.getOpenPositions.query({ strategyId: id }),
    'strategy',
    LIKE,
  ],
  ['portfolio.deleteTrade(id)', (c, id) => c.portfolio.deleteTrade.mutate({ id }), 'trade'],
  ['admin.deadLetters.replay(id)', (c, id) => c.admin.deadLetters.replay.mutate({ id }), 'deadLetter'],
  ['admin.deadLetters.discard(id)', (c, id) => c.admin.deadLetters.discard.mutate({ id }), 'deadLetter'],
];

/** Id-taking inputs deliberately outside CALLS, each with the reason. */
const EXEMPT: Record<string, string> = {
  'notifications.onEvent(lastEventId)':
    "a position in the caller's own event stream (the stream is chosen by the caller's user id), not a row id",
};

const ID_KEY = /^ids?$|Ids?$/;

/** What the completeness check finds wrong with CALLS and EXEMPT against the router; empty when they are whole. */
function matrixGaps(rows: ReadonlyArray<readonly [string, ...unknown[]]>): string[] {
  const covered = new Set([...rows.map((row) => row[0]), ...Object.keys(EXEMPT)]);
  const expected = new Set<string>();
  const gaps: string[] = [];
  for (const { path, def } of PROCEDURES) {
    if (isAdminOnly(def)) continue;
    for (const input of def.inputs) {
      const keys = inputKeys(input);
      if (keys === null) {
        gaps.push(`${path}: input schema not readable; teach inputKeys its shape`);
        continue;
      }
      for (const key of keys.filter((k) => ID_KEY.test(k))) expected.add(`${path}(${key})`);
    }
  }
  for (const name of expected) {
    if (!covered.has(name)) gaps.push(`${name}: takes an id but is in neither CALLS nor EXEMPT`);
  }
  for (const name of covered) {
    if (!expected.has(name)) gaps.push(`${name}: in CALLS or EXEMPT but the router has no such id input`);
  }
  return gaps;
}

describe("ownership: another user's ids answer as missing ones and change nothing", () => {
  it.each(CALLS)('%s', async (name, call, owned, answer = 'NOT_FOUND') => {
    const before = await ownerState();
    if (answer === 'NOT_FOUND') {
      const foreign = await trpcFailure(() => call(intruder.client, ids[owned]));
      const missing = await trpcFailure(() => call(intruder.client, MISSING));
      expect(foreign.data?.code).toBe('NOT_FOUND');
      expect([foreign.data?.code, foreign.message]).toEqual([missing.data?.code, missing.message]);
    } else {
      const foreign = await call(intruder.client, ids[owned]);
      expect(foreign).toEqual(await call(intruder.client, MISSING));
      const path = name.slice(0, name.indexOf('('));
      if (PROCEDURES.find((p) => p.path === path)?.def.type === 'query') {
        expect(await call(owner.client, ids[owned])).not.toEqual(foreign);
      }
    }
    expect(await ownerState()).toEqual(before);
  });

  it("unfiltered lists never include the owner's rows", async () => {
    const c = intruder.client;
    const seen = {
      strategy: (await c.strategies.list.query({ includeInactive: true, limit: 100 })).items,
      connection: (await c.brokers.getConnections.query({ limit: 100 })).items,
      rule: (await c.routing.list.query({ limit: 100 })).items,
      channel: (await c.notifications.channels.list.query({ limit: 100 })).items,
      log: (await c.webhooks.getLogs.query({ limit: 100 })).items,
      order: (await c.brokers.getOrders.query({ limit: 100 })).items,
      run: (await c.brokers.getReconciliationRuns.query({ limit: 100 })).items,
      staged: (await c.webhooks.getStaged.query({ limit: 100 })).items,
      trade: (await c.portfolio.getTrades.query({ limit: 100 })).items,
      notification: (await c.notifications.list.query({ limit: 100 })).items,
      deadLetter: (await c.admin.deadLetters.list.query({ limit: 100 })).items,
    } satisfies Record<Owned, Array<{ id: number }>>;
    const leaked = Object.entries(seen)
      .filter(([kind, items]) => items.some((item) => item.id === ids[kind as Owned]))
      .map(([kind]) => kind);
    expect(leaked).toEqual([]);
    const positions = (await c.portfolio.getOpenPositions.query({ limit: 100 })).items;
    expect(positions.map((position) => position.strategyId)).not.toContain(ids.strategy);
  });

  it("the refusals leave no audit rows in the owner's name", async () => {
    const ownerAudit = await server.deps.database.db.select().from(auditLogs).where(eq(auditLogs.userId, owner.id));
    const actions = ownerAudit.map((row) => row.action);
    expect(
      actions.filter(
        (action) =>
          ![
            'auth.register',
            'strategy.create',
            'broker_connection.connect',
            'routing_rule.create',
            'notification_channel.create',
          ].includes(action),
      ),
    ).toEqual([]);
  });
});

describe('the matrix is whole', () => {
  it('names every id-taking input of every non-admin procedure, and nothing else', () => {
    expect(ADMIN_CHECKS).toHaveLength(1);
    expect(matrixGaps(CALLS)).toEqual([]);
  });

  it('fails, naming the procedure, when a row is missing', () => {
    const withoutCancel = CALLS.filter(([name]) => name !== 'brokers.cancelOrder(id)');
    expect(matrixGaps(withoutCancel)).toEqual([
      'brokers.cancelOrder(id): takes an id but is in neither CALLS nor EXEMPT',
    ]);
  });

  it('answers FORBIDDEN to a non-admin on every administrator-only procedure, which change nothing', async () => {
    const adminOnly = PROCEDURES.filter(({ def }) => isAdminOnly(def));
    expect(adminOnly.map(({ path }) => path)).toEqual(
      expect.arrayContaining(['admin.users.setRole', 'admin.audit.list', 'admin.queues.stats', 'health.details']),
    );
    const before = await ownerState();
    for (const { path, def } of adminOnly) {
      // The typed client reaches any path; the admin check runs before the input is parsed.
      const node = path.split('.').reduce<unknown>((at, key) => (at as Record<string, unknown>)[key], intruder.client);
      const verb = def.type === 'query' ? 'query' : 'mutate';
      const input = { userId: owner.id, role: 'admin', disabled: true, enabled: false };
      const call = async () => (node as Record<string, (input: unknown) => Promise<unknown>>)[verb]?.(input);
      expect([path, (await trpcFailure(call)).data?.code]).toEqual([path, 'FORBIDDEN']);
    }
    expect(await ownerState()).toEqual(before);
  });
});
