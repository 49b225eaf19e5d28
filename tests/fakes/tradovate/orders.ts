/**
 * Tradovate order commands (BROKERS.md §2.2, §2.3, §2.5): business failures answer HTTP 200 with
 * {failureReason, failureText}; malformed fields answer 200 {violations:[…]}; success is {orderId} (+ bracket ids).
 */
import { isoMs } from '../common/clock.ts';
import { big, isZero, neg, num, parseDecimal } from '../common/decimal.ts';
import { type EngineOrder, TERMINAL } from '../common/engine.ts';
import { type FakeRequest, type FakeResponse, json, type Router } from '../common/http.ts';
import { intLike, isRecord, type JsonObject, str } from '../common/json.ts';
import { ACCESS_DENIED, bearer } from './auth.ts';
import {
  bracketOf,
  businessChecks,
  failure,
  KINDS,
  type PlaceOrder,
  parsePlaceOrder,
  type TvContext,
} from './parse.ts';
import type { TradovateExt, TvUser } from './types.ts';

export type { TvContext } from './parse.ts';

function create(
  ctx: TvContext,
  o: Omit<PlaceOrder, 'body'> & { body: JsonObject },
  link: { held?: boolean; parent?: EngineOrder<TradovateExt>; ocoGroup?: string | null } = {},
): EngineOrder<TradovateExt> {
  const { state, clock } = ctx;
  const id = state.nextId();
  const commandId = state.nextId();
  const timestamp = isoMs(clock.stamp());
  const activationTime = str(o.body, 'activationTime');
  const customTag50 = str(o.body, 'customTag50');
  state.commands.push({
    id: commandId,
    orderId: id,
    timestamp,
    ...(o.clOrdId !== null ? { clOrdId: o.clOrdId } : {}),
    commandType: 'New',
    commandStatus: 'AtExecution',
    isAutomated: o.isAutomated,
    ...(activationTime ? { activationTime } : {}),
    ...(customTag50 ? { customTag50 } : {}),
  });
  const text = str(o.body, 'text');
  const expireTime = str(o.body, 'expireTime');
  state.orderVersions.push({
    id: state.nextId(),
    orderId: id,
    orderQty: o.orderQty,
    orderType: o.orderType,
    ...(o.price !== null ? { price: num(o.price) } : {}),
    ...(o.stopPrice !== null ? { stopPrice: num(o.stopPrice) } : {}),
    ...(typeof o.body.maxShow === 'number' ? { maxShow: o.body.maxShow } : {}),
    ...(typeof o.body.pegDifference === 'number' ? { pegDifference: o.body.pegDifference } : {}),
    timeInForce: o.timeInForce,
    ...(expireTime ? { expireTime } : {}),
    ...(text ? { text } : {}),
  });
  const kind = KINDS[o.orderType] ?? 'other';
  return state.engine.place({
    id: String(id),
    account: String(o.account.id),
    symbol: o.contract.name,
    side: o.action === 'Buy' ? 'buy' : 'sell',
    qty: String(o.orderQty),
    kind,
    limitPrice: kind === 'limit' || kind === 'stop_limit' ? o.price : null,
    stopPrice: kind === 'mit' ? (o.stopPrice ?? o.price) : o.stopPrice,
    clientOrderId: o.clOrdId,
    parentId: link.parent?.id ?? null,
    groupId: link.parent?.id ?? null,
    ocoGroup: link.ocoGroup ?? null,
    held: link.held ?? false,
    ext: {
      numericId: id,
      accountId: o.account.id,
      contractId: o.contract.id,
      action: o.action,
      orderType: o.orderType,
      timeInForce: o.timeInForce,
      clOrdId: o.clOrdId,
      isAutomated: o.isAutomated,
      ocoId: null,
      parentId: link.parent?.ext.numericId ?? null,
      linkedId: null,
      commandId,
      cancelCommandId: null,
    },
  });
}

export function registerOrderRoutes(router: Router, ctx: TvContext): void {
  const authed = (fn: (req: FakeRequest, user: TvUser) => FakeResponse) => (req: FakeRequest) => {
    const session = bearer(ctx, req);
    if (!session) return ACCESS_DENIED;
    const { config } = ctx.state;
    if (config.enforceDeviceId && (!session.token.deviceId || session.token.deviceId !== session.user.deviceId)) {
      return ACCESS_DENIED;
    }
    return fn(req, session.user);
  };
  router
    .add(
      'POST',
      '/order/placeorder',
      authed((req, user) => placeOrder(ctx, req, user)),
    )
    .add(
      'POST',
      '/order/placeoso',
      authed((req, user) => placeOso(ctx, req, user)),
    )
    .add(
      'POST',
      '/order/placeoco',
      authed((req, user) => placeOco(ctx, req, user)),
    )
    .add(
      'POST',
      '/order/cancelorder',
      authed((req, user) => cancelOrder(ctx, req, user)),
    )
    .add(
      'POST',
      '/order/modifyorder',
      authed((req, user) => modifyOrder(ctx, req, user)),
    )
    .add(
      'POST',
      '/order/liquidateposition',
      authed((req, user) => liquidate(ctx, req, user)),
    );
}

function placeOrder(ctx: TvContext, req: FakeRequest, user: TvUser): FakeResponse {
  const parsed = parsePlaceOrder(ctx, user, req.body);
  if (!parsed.ok) return parsed.response;
  const refusal = businessChecks(ctx, parsed.value, [parsed.value.clOrdId]);
  if (refusal) return refusal;
  const order = create(ctx, parsed.value);
  ctx.state.engine.process(order);
  return json(200, { orderId: order.ext.numericId });
}

function placeOso(ctx: TvContext, req: FakeRequest, user: TvUser): FakeResponse {
  const parsed = parsePlaceOrder(ctx, user, req.body);
  if (!parsed.ok) return parsed.response;
  const body = parsed.value.body;
  const first = bracketOf(ctx, parsed.value, body.bracket1, 'bracket1');
  if (!first.ok) return first.response;
  const second =
    body.bracket2 === undefined || body.bracket2 === null
      ? null
      : bracketOf(ctx, parsed.value, body.bracket2, 'bracket2');
  if (second && !second.ok) return second.response;
  const refusal = businessChecks(ctx, parsed.value, [
    parsed.value.clOrdId,
    first.value.clOrdId,
    second?.value.clOrdId ?? null,
  ]);
  if (refusal) return refusal;
  const entry = create(ctx, parsed.value);
  const ocoGroup = second ? `${entry.id}:oso` : null;
  const oso1 = create(ctx, first.value, { held: true, parent: entry, ocoGroup });
  const oso2 = second ? create(ctx, second.value, { held: true, parent: entry, ocoGroup }) : null;
  if (oso2) {
    oso1.ext.ocoId = oso2.ext.numericId;
    oso2.ext.ocoId = oso1.ext.numericId;
  }
  ctx.state.engine.process(entry);
  return json(200, {
    orderId: entry.ext.numericId,
    oso1Id: oso1.ext.numericId,
    ...(oso2 ? { oso2Id: oso2.ext.numericId } : {}),
  });
}

function placeOco(ctx: TvContext, req: FakeRequest, user: TvUser): FakeResponse {
  const parsed = parsePlaceOrder(ctx, user, req.body);
  if (!parsed.ok) return parsed.response;
  const other = bracketOf(ctx, parsed.value, parsed.value.body.other, 'other');
  if (!other.ok) return other.response;
  const refusal = businessChecks(ctx, parsed.value, [parsed.value.clOrdId, other.value.clOrdId]);
  if (refusal) return refusal;
  const first = create(ctx, parsed.value);
  const second = create(ctx, other.value, { ocoGroup: `${first.id}:oco` });
  first.ocoGroup = second.ocoGroup;
  first.ext.ocoId = second.ext.numericId;
  second.ext.ocoId = first.ext.numericId;
  ctx.state.engine.process(first);
  ctx.state.engine.process(second);
  return json(200, { orderId: first.ext.numericId, ocoId: second.ext.numericId });
}

function ownedOrder(ctx: TvContext, user: TvUser, id: unknown): EngineOrder<TradovateExt> | null {
  const orderId = intLike(id);
  const order = orderId === undefined ? undefined : ctx.state.engine.get(String(orderId));
  return order && user.accounts.some((a) => a.id === order.ext.accountId) ? order : null;
}

function command(ctx: TvContext, order: EngineOrder<TradovateExt>, type: 'Modify' | 'Cancel', body: JsonObject) {
  const id = ctx.state.nextId();
  const clOrdId = str(body, 'clOrdId');
  ctx.state.commands.push({
    id,
    orderId: order.ext.numericId,
    timestamp: isoMs(ctx.clock.stamp()),
    ...(clOrdId ? { clOrdId } : {}),
    commandType: type,
    commandStatus: 'AtExecution',
    isAutomated: body.isAutomated === true,
  });
  return id;
}

function cancelOrder(ctx: TvContext, req: FakeRequest, user: TvUser): FakeResponse {
  if (!isRecord(req.body)) return { status: 400 };
  const order = ownedOrder(ctx, user, req.body.orderId);
  if (!order) return failure('UnknownReason', 'Order not found');
  if (TERMINAL.has(order.status)) return failure('TooLate', `Order ${order.ext.numericId} is not working`);
  const commandId = command(ctx, order, 'Cancel', req.body);
  order.ext.cancelCommandId = commandId;
  ctx.state.engine.cancel(order, 'family');
  return json(200, { commandId });
}

function modifyOrder(ctx: TvContext, req: FakeRequest, user: TvUser): FakeResponse {
  if (!isRecord(req.body)) return { status: 400 };
  const body = req.body;
  const order = ownedOrder(ctx, user, body.orderId);
  if (!order) return failure('UnknownReason', 'Order not found');
  if (TERMINAL.has(order.status)) return failure('TooLate', `Order ${order.ext.numericId} is not working`);
  const qty = typeof body.orderQty === 'number' && Number.isInteger(body.orderQty) ? body.orderQty : Number(order.qty);
  const price = body.price === undefined ? order.limitPrice : parseDecimal(body.price);
  const stopPrice = body.stopPrice === undefined ? order.stopPrice : parseDecimal(body.stopPrice);
  const commandId = command(ctx, order, 'Modify', body);
  ctx.state.orderVersions.push({
    id: ctx.state.nextId(),
    orderId: order.ext.numericId,
    orderQty: qty,
    orderType: str(body, 'orderType') ?? order.ext.orderType,
    ...(price !== null ? { price: num(price) } : {}),
    ...(stopPrice !== null ? { stopPrice: num(stopPrice) } : {}),
    timeInForce: str(body, 'timeInForce') ?? order.ext.timeInForce,
  });
  ctx.state.engine.modify(order, { qty: String(qty), limitPrice: price, stopPrice });
  return json(200, { commandId });
}

function liquidate(ctx: TvContext, req: FakeRequest, user: TvUser): FakeResponse {
  if (!isRecord(req.body)) return { status: 400 };
  const accountId = intLike(req.body.accountId);
  const contractId = intLike(req.body.contractId);
  const account = user.accounts.find((a) => a.id === accountId);
  const contract = ctx.state.contracts.find((c) => c.id === contractId);
  if (!account) return failure('UnknownReason', 'Access is denied');
  if (!contract) return failure('InvalidContract', `Unknown contract ${String(contractId)}`);
  const { engine } = ctx.state;
  for (const o of engine.openOrders(String(account.id)).filter((o) => o.symbol === contract.name)) engine.cancel(o);
  const netPos = engine.account(String(account.id)).positions.get(contract.name)?.qty ?? '0';
  if (isZero(netPos)) return failure('UnknownReason', 'No position to liquidate');
  const order = create(ctx, {
    action: big(netPos).gt(0) ? 'Sell' : 'Buy',
    orderType: 'Market',
    price: null,
    stopPrice: null,
    timeInForce: 'Day',
    clOrdId: null,
    body: req.body,
    account,
    contract,
    orderQty: Number(big(netPos).gt(0) ? netPos : neg(netPos)),
    isAutomated: req.body.isAutomated === true,
  });
  engine.process(order);
  return json(200, { orderId: order.ext.numericId });
}
