/**
 * Tradovate order calls (BROKERS.md §2.2–§2.5, §2.7): placeorder / placeoso with `isAutomated: true` and our
 * client order id as `clOrdId`, lookups through /command/list (the only entity that stores clOrdId), orders
 * composed from Order + OrderVersion + Fill + Command, and cancelorder. Failure bodies arrive with HTTP 200.
 */
import { BrokerRejected, BrokerUnavailable } from '../errors.ts';
import { asRecord } from '../http.ts';
import type { BrokerOrder, OrderRequest } from '../types.ts';
import { ACTIONS, placement, type TradovateAccountRef } from './bodies.ts';
import {
  clOrdIdOf,
  composeOrder,
  dateOf,
  fillsOf,
  idOf,
  isOpenStatus,
  mayHaveFills,
  type Row,
  rejectionOf,
  rows,
  symbolOf,
  type Terms,
  termsOf,
} from './mapping.ts';
import type { CallInit, TradovateSession } from './session.ts';

export type { TradovateAccountRef } from './bodies.ts';

import { bodyFailure, brokerText, statusError } from './wire.ts';

/** What the order calls need from the adapter: the session, the resolved account, cached contract names. */
export interface OrderContext {
  session: TradovateSession;
  account(signal?: AbortSignal): Promise<TradovateAccountRef>;
  symbols(contractIds: Array<number | null>, signal?: AbortSignal): Promise<Map<number, string>>;
}

/** A 200 JSON body after the status and body checks; null for a 404 when `notFound` allows it. */
export async function read(
  session: TradovateSession,
  path: string,
  init: CallInit,
  options: { notFound?: boolean; what?: string } = {},
): Promise<unknown> {
  const response = await session.call(path, init);
  if (response.status === 404 && options.notFound) return null;
  if (response.status !== 200) throw statusError(response, path);
  const failure = bodyFailure(response.json, options.what ?? `the request to ${path}`);
  if (failure) throw failure;
  if (response.json === undefined) throw new BrokerUnavailable(`Tradovate answered ${path} with an unreadable body`);
  return response.json;
}

/** [U] The fake's (and possibly Tradovate's) answer to a reused clOrdId: the order exists already. */
function isDuplicateClOrdId(json: unknown): boolean {
  const text = brokerText(asRecord(json).failureText);
  return /duplicate/i.test(text) && /cl\s*ord\s*id|client order/i.test(text);
}

export async function submitOrder(ctx: OrderContext, order: OrderRequest, signal?: AbortSignal): Promise<BrokerOrder> {
  const account = await ctx.account(signal);
  const plan = placement(order, account);
  const response = await ctx.session.call(plan.path, { method: 'POST', body: plan.body, signal });
  if (response.status !== 200) throw statusError(response, plan.path);
  const failure = bodyFailure(response.json, 'the order');
  if (failure) {
    if (isDuplicateClOrdId(response.json)) {
      const existing = await getOrderByClientId(ctx, order.clientOrderId, signal);
      if (existing) return existing;
    }
    throw failure;
  }
  const reply = asRecord(response.json);
  const orderId = idOf(reply.orderId);
  if (orderId === null) throw new BrokerUnavailable(`Tradovate answered ${plan.path} without an order id`);
  const legIds = [idOf(reply.oso1Id), idOf(reply.oso2Id)];
  const exit = order.side === 'buy' ? 'Sell' : 'Buy';
  const placed: Placed[] = [
    { id: orderId, clientOrderId: order.clientOrderId, terms: plan.entry, action: ACTIONS[order.side] },
    ...plan.legs.flatMap((leg, i) => {
      const id = legIds[i];
      return id ? [{ id, ...leg, action: exit }] : [];
    }),
  ];
  const composed = await describePlaced(ctx, placed, order.symbol, signal);
  const [entry, ...legs] = composed;
  if (!entry) throw new BrokerUnavailable('Tradovate: the placed order could not be described');
  return legs.length > 0 ? { ...entry, legs } : entry;
}

interface Placed {
  id: number;
  clientOrderId: string;
  terms: Terms;
  action: string;
}

/**
 * The orders just placed, read back in one /order/items call (plus fills where they may exist). The terms are
 * the ones we sent. The placement succeeded whatever happens here, so a failed read answers what we know
 * (PendingNew, as Tradovate reports a fresh order) instead of an error a caller would take for a failed order.
 */
async function describePlaced(
  ctx: OrderContext,
  placed: Placed[],
  symbol: string,
  signal: AbortSignal | undefined,
): Promise<BrokerOrder[]> {
  let found: Row[] = [];
  try {
    if (!signal?.aborted) {
      const ids = placed.map((p) => p.id).join(',');
      found = rows(await read(ctx.session, '/order/items', { query: { ids }, signal }));
    }
  } catch {
    found = [];
  }
  return Promise.all(
    placed.map(async (p) => {
      const fresh: Row = { id: p.id, ordStatus: 'PendingNew', action: p.action };
      let row = found.find((r) => idOf(r.id) === p.id) ?? fresh;
      let fills: Row[] = [];
      if (mayHaveFills(row.ordStatus)) {
        try {
          fills = rows(await read(ctx.session, '/fill/deps', { query: { masterid: p.id }, signal }));
        } catch {
          // A status without its fills would misstate what filled; the next status poll reads both.
          row = fresh;
        }
      }
      return composeOrder({
        order: row,
        symbol,
        terms: p.terms,
        fills: fillsOf(fills),
        clientOrderId: p.clientOrderId,
      });
    }),
  );
}

/** The order with this Tradovate id composed with its versions, fills and commands; null when unknown. */
export async function getOrder(
  ctx: OrderContext,
  brokerOrderId: string,
  signal?: AbortSignal,
  known: { commands?: Row[] } = {},
): Promise<BrokerOrder | null> {
  const id = idOf(brokerOrderId);
  if (id === null) return null;
  const found = await read(ctx.session, '/order/item', { query: { id }, signal }, { notFound: true });
  if (found === null) return null;
  const order = asRecord(found);
  const deps = (entity: string) => read(ctx.session, `/${entity}/deps`, { query: { masterid: id }, signal });
  const [versions, fills, commands, reports, names] = await Promise.all([
    deps('orderVersion'),
    mayHaveFills(order.ordStatus) ? deps('fill') : [],
    known.commands ?? deps('command'),
    order.ordStatus === 'Rejected' ? deps('executionReport') : [],
    ctx.symbols([idOf(order.contractId)], signal),
  ]);
  const commandRows = rows(commands);
  return composeOrder({
    order,
    symbol: symbolOf(names, order.contractId),
    terms: termsOf(rows(versions)),
    fills: fillsOf(rows(fills)),
    clientOrderId: clOrdIdOf(commandRows),
    commandTimes: commandRows.map((c) => dateOf(c.timestamp)),
    reason: rejectionOf(rows(reports)),
  });
}

/** §2.7: the order whose New command carries this clOrdId (the earliest, should there be several). */
export async function getOrderByClientId(
  ctx: OrderContext,
  clientOrderId: string,
  signal?: AbortSignal,
): Promise<BrokerOrder | null> {
  const commands = rows(await read(ctx.session, '/command/list', { signal }));
  const created = commands
    .filter((c) => c.clOrdId === clientOrderId && (c.commandType ?? 'New') === 'New' && idOf(c.orderId) !== null)
    .sort((a, b) => (idOf(a.id) ?? 0) - (idOf(b.id) ?? 0))[0];
  const orderId = idOf(created?.orderId);
  if (orderId === null) return null;
  const own = commands.filter((c) => idOf(c.orderId) === orderId);
  const order = await getOrder(ctx, String(orderId), signal, { commands: own });
  // The command proves the order exists: "not found" here must not send the caller off to place it again.
  if (!order) throw new BrokerUnavailable(`Tradovate has not published order ${orderId} (${clientOrderId}) yet`);
  return order;
}

export async function getOpenOrders(ctx: OrderContext, signal?: AbortSignal): Promise<BrokerOrder[]> {
  const account = await ctx.account(signal);
  const open = rows(await read(ctx.session, '/order/list', { signal })).filter((o) => {
    const accountId = idOf(o.accountId);
    return isOpenStatus(o.ordStatus) && (accountId === null || accountId === account.id);
  });
  if (open.length === 0) return [];
  // Three list reads instead of three reads per order: the pacing budget is per connection.
  const list = (entity: string) => read(ctx.session, `/${entity}/list`, { signal }).then(rows);
  const [versions, fills, commands, names] = await Promise.all([
    list('orderVersion'),
    list('fill'),
    list('command'),
    ctx.symbols(
      open.map((o) => idOf(o.contractId)),
      signal,
    ),
  ]);
  const of = (items: Row[], orderId: number | null) => items.filter((r) => idOf(r.orderId) === orderId);
  return open.map((order) => {
    const id = idOf(order.id);
    const own = of(commands, id);
    return composeOrder({
      order,
      symbol: symbolOf(names, order.contractId),
      terms: termsOf(of(versions, id)),
      fills: fillsOf(of(fills, id)),
      clientOrderId: clOrdIdOf(own),
      commandTimes: own.map((c) => dateOf(c.timestamp)),
    });
  });
}

export async function cancelOrder(ctx: OrderContext, brokerOrderId: string, signal?: AbortSignal): Promise<void> {
  const orderId = idOf(brokerOrderId);
  if (orderId === null)
    throw new BrokerRejected(`Tradovate has no order ${brokerOrderId}`, { brokerCode: 'UnknownOrder' });
  await read(
    ctx.session,
    '/order/cancelorder',
    { method: 'POST', body: { orderId, isAutomated: true }, signal },
    { what: `the cancellation of order ${orderId}` },
  );
}
