/**
 * IBKR orders (BROKERS.md §3.4, §3.5, §3.10): submission with order-reply questions, acknowledgements, modify,
 * cancel, live orders (order_ref = cOID), single-order status and trades.
 */
import { randomUUID } from 'node:crypto';
import { big, cmp, fixed, mul, sub } from '../common/decimal.ts';
import { type EngineOrder, TERMINAL } from '../common/engine.ts';
import { type FakeRequest, type FakeResponse, json, type Router } from '../common/http.ts';
import { isRecord } from '../common/json.ts';
import { accountValues } from './portfolio.ts';
import { liveItem, statusBody, trades } from './render.ts';
import { type IbkrContext, ibError } from './session.ts';
import { checkGroup, enginePrices, ibStatus, orderTypeInfo, parseTicket, SNAKE } from './tickets.ts';
import type { IbkrExt, PendingReply, Ticket } from './types.ts';

type IbOrder = EngineOrder<IbkrExt>;
const DAY_MS = 24 * 3_600_000;

export function registerOrderRoutes(router: Router, ctx: IbkrContext): void {
  router
    .add('POST', '/iserver/account/:accountId/orders', (req) => submit(ctx, req))
    .add('POST', '/iserver/reply/:replyId', (req) => reply(ctx, req))
    .add('POST', '/iserver/account/:accountId/order/:orderId', (req) => modify(ctx, req))
    .add('DELETE', '/iserver/account/:accountId/order/:orderId', (req) => cancel(ctx, req))
    .add('GET', '/iserver/account/orders', (req) => liveOrders(ctx, req))
    .add('GET', '/iserver/account/order/status/:orderId', (req) => {
      const order = ctx.state.engine.get(req.params.orderId ?? '');
      if (!order) return ibError(400, `OrderID ${req.params.orderId} doesn't exist`);
      ctx.state.engine.poll(order);
      return json(200, statusBody(ctx, order));
    })
    .add('GET', '/iserver/account/trades', () => json(200, trades(ctx)));
}

const orderError = (ctx: IbkrContext, error: string) => ibError(ctx.state.config.orderErrorStatus, error);

function submit(ctx: IbkrContext, req: FakeRequest): FakeResponse {
  const { state } = ctx;
  const accountId = req.params.accountId ?? '';
  if (!state.accounts.includes(accountId)) return ibError(400, `Account ${accountId} is not a valid account`);
  // {"orders":[…]} per the docs; a bare array per one doc example.
  const list = Array.isArray(req.body) ? req.body : isRecord(req.body) ? req.body.orders : undefined;
  if (!Array.isArray(list) || list.length === 0) return ibError(400, 'Bad Request: body must be {"orders":[…]}');
  const tickets: Ticket[] = [];
  for (const raw of list) {
    const ticket = parseTicket(state, raw, accountId);
    if (typeof ticket === 'string') return orderError(ctx, ticket);
    tickets.push(ticket);
  }
  const groupError = checkGroup(tickets);
  if (groupError) return orderError(ctx, groupError);
  const refusal = refuse(ctx, accountId, tickets);
  if (refusal) return refusal;
  const questions = state.config.questions.filter((q) => !q.messageIds.every((id) => state.session.suppressed.has(id)));
  if (questions.length === 0) return place(ctx, accountId, tickets);
  return ask(ctx, { id: '', accountId, tickets, remaining: questions });
}

/** Duplicate cOID within 24 h, forced rejections, buying power. */
function refuse(ctx: IbkrContext, accountId: string, tickets: Ticket[]): FakeResponse | null {
  const { state, clock } = ctx;
  const now = clock.nowMs();
  for (const t of tickets) {
    if (!t.cOID) continue;
    const taken = state.engine.orders.some((o) => o.ext.cOID === t.cOID && now - o.createdAt / 1000 < DAY_MS);
    if (taken) return orderError(ctx, `Order couldn't be submitted: Local order ID=${t.cOID} is already registered.`);
  }
  const forced = state.forcedRejects.shift();
  if (forced) return ibError(forced.status, forced.error);
  const [entry] = tickets;
  if (!entry || entry.contract.secType === 'FUT') return null; // futures margin is not modelled
  const position = state.engine.account(accountId).positions.get(entry.contract.symbol)?.qty ?? '0';
  const reducing = entry.side === 'SELL' ? big(position).gt(0) : big(position).lt(0);
  const opening = reducing ? sub(entry.quantity, big(position).abs()) : entry.quantity;
  if (cmp(opening, 0) <= 0) return null;
  const price = entry.price ?? state.engine.mark(entry.contract.symbol) ?? '0';
  const cost = mul(opening, price);
  const values = accountValues(state, accountId);
  if (cmp(cost, values.buyingPower) > 0) {
    return orderError(
      ctx,
      `Order rejected - reason:YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR EQUITY WITH LOAN VALUE [${fixed(values.netLiquidation, 2)} USD] MUST EXCEED THE INITIAL MARGIN [${fixed(cost, 2)} USD]`,
    );
  }
  return null;
}

/** Asks the next question (a new reply id each time), or places the order once none is left. */
function ask(ctx: IbkrContext, pending: PendingReply): FakeResponse {
  const [question, ...rest] = pending.remaining;
  if (!question) return place(ctx, pending.accountId, pending.tickets);
  const id = randomUUID();
  ctx.state.pendingReplies.set(id, { ...pending, id, remaining: rest });
  ctx.state.engine.notify();
  return json(200, [{ id, message: question.message, isSuppressed: false, messageIds: question.messageIds }]);
}

function reply(ctx: IbkrContext, req: FakeRequest): FakeResponse {
  const { state } = ctx;
  const pending = state.pendingReplies.get(req.params.replyId ?? '');
  if (!pending) return ibError(400, `Reply id ${req.params.replyId} not found or already answered`);
  state.pendingReplies.delete(pending.id);
  if (!isRecord(req.body) || req.body.confirmed !== true) {
    state.discarded.push(...pending.tickets);
    state.engine.notify();
    return json(200, { error: 'Order was not confirmed and has been discarded' });
  }
  const refusal = pending.remaining.length === 0 ? refuseDuplicateOnly(ctx, pending.tickets) : null;
  return refusal ?? ask(ctx, pending);
}

function refuseDuplicateOnly(ctx: IbkrContext, tickets: Ticket[]): FakeResponse | null {
  for (const t of tickets) {
    if (t.cOID && ctx.state.engine.orders.some((o) => o.ext.cOID === t.cOID)) {
      return orderError(ctx, `Order couldn't be submitted: Local order ID=${t.cOID} is already registered.`);
    }
  }
  return null;
}

function place(ctx: IbkrContext, accountId: string, tickets: Ticket[]): FakeResponse {
  const { state } = ctx;
  const [entry, ...children] = tickets;
  if (!entry) return ibError(400, 'no orders');
  const bracket = children.length > 0 && !entry.isSingleGroup;
  const create = (t: Ticket, parent: IbOrder | null, ocoGroup: string | null): IbOrder => {
    const id = state.nextOrderId();
    return state.engine.place({
      id: String(id),
      account: accountId,
      symbol: t.contract.symbol,
      side: t.side === 'BUY' ? 'buy' : 'sell',
      qty: t.quantity,
      kind: orderTypeInfo(t.orderType).kind,
      ...enginePrices(t),
      clientOrderId: t.cOID,
      parentId: parent?.id ?? null,
      groupId: parent?.id ?? null,
      ocoGroup,
      held: parent !== null,
      ext: {
        numericId: id,
        conid: t.contract.conid,
        orderType: t.orderType,
        tif: t.tif,
        cOID: t.cOID,
        parentCOID: t.parentId,
        outsideRTH: t.outsideRTH,
        acctId: accountId,
        price: t.price,
        auxPrice: t.auxPrice,
        session: state.session.number,
      },
    });
  };
  const first = create(entry, null, bracket ? null : children.length > 0 ? `oca:${entry.cOID ?? randomUUID()}` : null);
  const rest = children.map((t) => create(t, bracket ? first : null, bracket ? `${first.id}:bracket` : first.ocoGroup));
  const placed = [first, ...rest];
  const ack = placed.map((o) => ({
    order_id: String(o.ext.numericId),
    order_status: ibStatus(o),
    encrypt_message: '1',
  }));
  for (const o of placed) if (o.status === 'working') state.engine.process(o);
  return json(200, state.config.ackShape === 'object' ? ack[0] : ack);
}

function modify(ctx: IbkrContext, req: FakeRequest): FakeResponse {
  const { state } = ctx;
  const order = state.engine.get(req.params.orderId ?? '');
  if (!order || order.account !== req.params.accountId)
    return ibError(400, `OrderID ${req.params.orderId} doesn't exist`);
  if (TERMINAL.has(order.status)) return ibError(400, `OrderID ${order.id} cannot be modified: ${ibStatus(order)}`);
  // A single object repeating every field of the original ticket.
  const ticket = parseTicket(state, req.body, order.account);
  if (typeof ticket === 'string') return orderError(ctx, ticket);
  state.engine.modify(order, { qty: ticket.quantity, ...enginePrices(ticket) });
  order.ext.price = ticket.price;
  order.ext.auxPrice = ticket.auxPrice;
  return json(200, [{ order_id: String(order.ext.numericId), order_status: ibStatus(order), encrypt_message: '1' }]);
}

function cancel(ctx: IbkrContext, req: FakeRequest): FakeResponse {
  const { state } = ctx;
  const accountId = req.params.accountId ?? '';
  if (req.params.orderId === '-1') {
    for (const o of state.engine.openOrders(accountId)) state.engine.cancel(o);
    return json(200, { msg: 'Request was submitted', order_id: -1, conid: -1, account: accountId });
  }
  const order = state.engine.get(req.params.orderId ?? '');
  if (!order || order.account !== accountId) return ibError(400, `OrderID ${req.params.orderId} doesn't exist`);
  if (TERMINAL.has(order.status)) return ibError(400, `OrderID ${order.id} cannot be cancelled: ${ibStatus(order)}`);
  state.engine.cancel(order, 'family');
  return json(200, {
    msg: 'Request was submitted',
    order_id: order.ext.numericId,
    conid: order.ext.conid,
    account: accountId,
  });
}

function liveOrders(ctx: IbkrContext, req: FakeRequest): FakeResponse {
  const { state } = ctx;
  state.session.liveOrdersCalls += 1;
  if (state.config.firstLiveOrdersEmpty && state.session.liveOrdersCalls === 1) {
    return json(200, { orders: [], snapshot: false });
  }
  const accountId = req.query.get('accountId');
  const filters = (req.query.get('filters') ?? '')
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  const statuses = filters.filter((f) => f !== 'sort_by_time');
  const orders = state.engine.orders.filter(
    (o) => o.ext.session === state.session.number && (accountId === null || o.account === accountId),
  );
  for (const o of orders) state.engine.poll(o);
  const shown = orders
    .filter((o) => statuses.length === 0 || statuses.includes(SNAKE[ibStatus(o)] ?? ''))
    .sort((a, b) => b.updatedAt - a.updatedAt);
  return json(200, { orders: shown.map((o) => liveItem(ctx, o)), snapshot: true });
}
