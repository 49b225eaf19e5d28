/**
 * brokers.getOrders and brokers.cancelOrder over HTTP on orders written directly: the caller's orders only, newest
 * first in a stable (created_at, id) order across pages, filtered, with exact decimal strings; another user's ids
 * are NOT_FOUND and change nothing. Cancels that need no broker: an order not yet sent, an order already final.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerConnections } from '../../../drizzle/schema/broker_connections.ts';
import { brokerOrders } from '../../../drizzle/schema/broker_orders.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { type SignedInUser, signUp, trpcFailure } from '../../helpers/client.ts';
import { insertStrategy } from '../../helpers/fixtures.ts';

let server: TestApp;
let alice: SignedInUser;
let bob: SignedInUser;
beforeAll(async () => {
  server = await startTestApp();
  [alice, bob] = await Promise.all([signUp(server.url), signUp(server.url)]);
});
afterAll(() => server.close());

const db = () => server.deps.database.db;
const MISSING = 999_999_999;
const at = (iso: string) => new Date(iso);

async function insertConnection(userId: number): Promise<number> {
  const [row] = await db()
    .insert(brokerConnections)
    .values({ userId, broker: 'alpaca', name: `C-${randomUUID().slice(0, 8)}`, credentialsEnc: 'v1:never-shown' })
    .$returningId();
  if (!row) throw new Error('connection insert returned no id');
  return row.id;
}

type OrderValues = Partial<typeof brokerOrders.$inferInsert>;

async function insertOrder(owner: { userId: number; strategyId: number; connectionId: number }, values: OrderValues) {
  const [row] = await db()
    .insert(brokerOrders)
    .values({
      userId: owner.userId,
      strategyId: owner.strategyId,
      brokerConnectionId: owner.connectionId,
      symbol: 'MNQ1!',
      brokerSymbol: 'MNQZ5',
      side: 'buy',
      intent: 'open',
      orderType: 'market',
      tif: 'day',
      quantity: '1',
      status: 'filled',
      ...values,
    })
    .$returningId();
  if (!row) throw new Error('order insert returned no id');
  await db()
    .update(brokerOrders)
    .set({ clientOrderId: `fp-${row.id}` })
    .where(eq(brokerOrders.id, row.id));
  return row.id;
}

describe('getOrders', () => {
  const ids: Record<string, number> = {};
  let strategyA = 0;
  let strategyB = 0;
  let connectionA = 0;
  let connectionB = 0;
  beforeAll(async () => {
    strategyA = await insertStrategy(db(), alice.id);
    strategyB = await insertStrategy(db(), alice.id);
    connectionA = await insertConnection(alice.id);
    connectionB = await insertConnection(alice.id);
    const a = { userId: alice.id, strategyId: strategyA, connectionId: connectionA };
    const b = { userId: alice.id, strategyId: strategyB, connectionId: connectionB };
    ids.oldest = await insertOrder(a, { createdAt: at('2026-01-05T10:00:00.000Z') });
    ids.tieLow = await insertOrder(a, {
      createdAt: at('2026-01-05T11:00:00.000Z'),
      quantity: '1.5',
      avgFillPrice: '101.25',
      filledQty: '1.5',
      commission: '0.37',
      symbol: 'AAPL',
      brokerSymbol: 'AAPL',
    });
    ids.tieHigh = await insertOrder(b, { createdAt: at('2026-01-05T11:00:00.000Z'), status: 'rejected' });
    // Written later (a higher id) but created earlier: order follows created_at, not the id.
    ids.lateWriter = await insertOrder(b, { createdAt: at('2026-01-05T10:30:00.000Z'), status: 'cancelled' });
    ids.newest = await insertOrder(a, { createdAt: at('2026-01-05T12:00:00.000Z'), status: 'accepted', side: 'sell' });
    const bobs = {
      userId: bob.id,
      strategyId: await insertStrategy(db(), bob.id),
      connectionId: await insertConnection(bob.id),
    };
    ids.bob = await insertOrder(bobs, { createdAt: at('2026-01-05T11:30:00.000Z') });
  });

  const newestFirst = () => [ids.newest, ids.tieHigh, ids.tieLow, ids.lateWriter, ids.oldest];

  it('lists the caller’s orders newest first, ties broken by id, with exact decimals and nothing of the connection', async () => {
    const page = await alice.client.brokers.getOrders.query({});
    expect(page.items.map((order) => order.id)).toEqual(newestFirst());
    expect(page.nextCursor).toBeNull();
    expect(page.items.find((order) => order.id === ids.tieLow)).toMatchObject({
      strategyId: strategyA,
      brokerConnectionId: connectionA,
      clientOrderId: `fp-${ids.tieLow}`,
      symbol: 'AAPL',
      quantity: '1.50000000',
      filledQty: '1.50000000',
      avgFillPrice: '101.25000000',
      commission: '0.37000000',
      status: 'filled',
      createdAt: at('2026-01-05T11:00:00.000Z'),
    });
    expect(JSON.stringify(page)).not.toMatch(/credential|v1:never-shown/);
  });

  it('walks every order once, in the same order, page by page, even while new orders arrive', async () => {
    const seen: number[] = [];
    let cursor: number | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await alice.client.brokers.getOrders.query({ limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((order) => order.id));
      if (pages === 0) {
        // A newer order written between two pages does not shift the pages after the cursor.
        const extra = { userId: alice.id, strategyId: strategyA, connectionId: connectionA };
        ids.arrived = await insertOrder(extra, { createdAt: at('2026-01-05T13:00:00.000Z') });
      }
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(newestFirst());
    const all = await alice.client.brokers.getOrders.query({ limit: 100 });
    expect(all.items.map((order) => order.id)).toEqual([ids.arrived, ...newestFirst()]);
    await db()
      .delete(brokerOrders)
      .where(eq(brokerOrders.id, ids.arrived ?? 0));
  });

  it('filters by strategy, connection, status, symbol (either symbol) and time', async () => {
    const query = alice.client.brokers.getOrders.query;
    const idsOf = async (input: Parameters<typeof query>[0]) => (await query(input)).items.map((order) => order.id);
    expect(await idsOf({ strategyId: strategyB })).toEqual([ids.tieHigh, ids.lateWriter]);
    expect(await idsOf({ connectionId: connectionA })).toEqual([ids.newest, ids.tieLow, ids.oldest]);
    expect(await idsOf({ status: 'filled' })).toEqual([ids.tieLow, ids.oldest]);
    expect(await idsOf({ symbol: 'AAPL' })).toEqual([ids.tieLow]);
    expect(await idsOf({ symbol: 'MNQZ5', strategyId: strategyA })).toEqual([ids.newest, ids.oldest]);
    expect(await idsOf({ symbol: 'MNQ1!', status: 'cancelled' })).toEqual([ids.lateWriter]);
    expect(await idsOf({ from: at('2026-01-05T10:30:00.000Z'), to: at('2026-01-05T12:00:00.000Z') })).toEqual([
      ids.tieHigh,
      ids.tieLow,
      ids.lateWriter,
    ]);
  });

  it('shows another user none of them, whatever ids they name', async () => {
    expect((await bob.client.brokers.getOrders.query({})).items.map((order) => order.id)).toEqual([ids.bob]);
    expect((await bob.client.brokers.getOrders.query({ strategyId: strategyA })).items).toEqual([]);
    expect((await bob.client.brokers.getOrders.query({ connectionId: connectionB })).items).toEqual([]);
    expect(await bob.client.brokers.getOrders.query({ cursor: ids.newest })).toEqual({ items: [], nextCursor: null });
  });

  it('refuses a limit over 100, an unknown status and a time range that ends before it starts', async () => {
    const bad = [
      () => alice.client.brokers.getOrders.query({ limit: 101 }),
      () => alice.client.brokers.getOrders.query({ status: 'lost' as 'filled' }),
      () => alice.client.brokers.getOrders.query({ from: at('2026-01-06T00:00:00Z'), to: at('2026-01-05T00:00:00Z') }),
    ];
    for (const call of bad) expect((await trpcFailure(call)).data?.code).toBe('BAD_REQUEST');
  });
});

describe('cancelOrder without a broker call', () => {
  let owner: { userId: number; strategyId: number; connectionId: number };
  beforeAll(async () => {
    owner = {
      userId: alice.id,
      strategyId: await insertStrategy(db(), alice.id),
      connectionId: await insertConnection(alice.id),
    };
  });

  it('cancels an order not yet sent, and answers already-final for one that ended', async () => {
    const pending = await insertOrder(owner, { status: 'pending' });
    expect(await alice.client.brokers.cancelOrder.mutate({ id: pending })).toEqual({
      id: pending,
      outcome: 'cancelled',
      status: 'cancelled',
    });
    const [row] = await db().select().from(brokerOrders).where(eq(brokerOrders.id, pending));
    expect(row).toMatchObject({ status: 'cancelled', lastError: 'Cancelled before it was sent to the broker' });
    expect(await alice.client.brokers.cancelOrder.mutate({ id: pending })).toEqual({
      id: pending,
      outcome: 'already-final',
      status: 'cancelled',
    });
    const filled = await insertOrder(owner, { status: 'filled', brokerOrderId: 'b-1' });
    expect(await alice.client.brokers.cancelOrder.mutate({ id: filled })).toMatchObject({
      outcome: 'already-final',
      status: 'filled',
    });
  });

  it('answers NOT_FOUND to another user, as for a missing id, and leaves the order as it was', async () => {
    const pending = await insertOrder(owner, { status: 'pending' });
    for (const id of [pending, MISSING]) {
      const failure = await trpcFailure(() => bob.client.brokers.cancelOrder.mutate({ id }));
      expect([failure.data?.code, failure.data?.appCode, failure.message]).toEqual([
        'NOT_FOUND',
        'not-found',
        'Order not found',
      ]);
    }
    const [row] = await db().select().from(brokerOrders).where(eq(brokerOrders.id, pending));
    expect(row?.status).toBe('pending');
  });
});
