/** Alpaca order endpoints (BROKERS.md §1.2–§1.4, §1.8). */
import { parseRfc3339Micros } from '../common/clock.ts';
import { div, isPositive, parseDecimal, roundDown, sign } from '../common/decimal.ts';
import { type EngineOrder, type OrderKind, TERMINAL } from '../common/engine.ts';
import { empty, type FakeRequest, type FakeResponse, json, type Router } from '../common/http.ts';
import { isRecord, str } from '../common/json.ts';
import { assetIdFor, invalid, isUuid, newId, notFound, renderOrder } from './render.ts';
import { duplicateClientId, exposureCheck, forcedReject } from './risk.ts';
import type { AlpacaAccount, AlpacaExt, AlpacaState, AlpacaType } from './types.ts';
import { checkBracketBase, type OrderRequest, parseOrderRequest } from './validate.ts';

export interface AlpacaContext {
  state: AlpacaState;
  accountOf(req: FakeRequest): AlpacaAccount;
  /** The mark of a tradable symbol (listing it at the default price when one is configured); null: unknown asset. */
  markFor(symbol: string): string | null;
}

const KIND: Record<AlpacaType, OrderKind> = {
  market: 'market',
  limit: 'limit',
  stop: 'stop',
  stop_limit: 'stop_limit',
  trailing_stop: 'other',
};

export function registerOrderRoutes(router: Router, ctx: AlpacaContext): void {
  router
    .add('POST', '/v2/orders', (req) => submit(ctx, req))
    .add('GET', '/v2/orders', (req) => list(ctx, req))
    .add('DELETE', '/v2/orders', (req) => cancelAll(ctx, req))
    .add('GET', '/v2/orders:by_client_order_id', (req) => byClientId(ctx, req))
    .add('GET', '/v2/orders%3Aby_client_order_id', (req) => byClientId(ctx, req))
    .add('GET', '/v2/orders/:id', (req) =>
      withOrder(ctx, req, (order) => {
        ctx.state.engine.poll(order);
        return json(200, renderOrder(ctx.state, order, { nested: req.query.get('nested') === 'true' }));
      }),
    )
    .add('PATCH', '/v2/orders/:id', (req) => withOrder(ctx, req, (order) => replace(ctx, req, order)))
    .add('DELETE', '/v2/orders/:id', (req) =>
      withOrder(ctx, req, (order) => {
        if (TERMINAL.has(order.status)) return invalid(`order is already in "${renderStatus(ctx, order)}" state`);
        ctx.state.engine.cancel(order, 'group');
        return empty(204);
      }),
    );
}

const renderStatus = (ctx: AlpacaContext, order: EngineOrder<AlpacaExt>) =>
  String(renderOrder(ctx.state, order).status);

function withOrder(
  ctx: AlpacaContext,
  req: FakeRequest,
  fn: (order: EngineOrder<AlpacaExt>) => FakeResponse,
): FakeResponse {
  const id = req.params.id ?? '';
  if (!isUuid(id)) return invalid('order_id is missing');
  const order = ctx.state.engine.get(id);
  if (!order || order.account !== ctx.accountOf(req).id) return notFound(ctx.state, 'order');
  return fn(order);
}

/** Creates a new order (and its legs) after every check; answers with the pre-fill snapshot, then fills. */
export function submitParsed(ctx: AlpacaContext, account: string, r: OrderRequest): FakeResponse {
  const { state } = ctx;
  const mark = ctx.markFor(r.symbol);
  if (mark === null) return invalid(`asset "${r.symbol}" not found`);
  const baseError = checkBracketBase(r, mark);
  if (baseError) return invalid(baseError);
  const position = state.engine.account(account).positions.get(r.symbol)?.qty ?? '0';
  if (r.orderClass === 'oco' && sign(position) !== (r.side === 'sell' ? 1 : -1)) {
    return invalid('oco orders must exit an existing position');
  }
  if (r.clientOrderId !== null) {
    const duplicate = duplicateClientId(state, account, r.clientOrderId);
    if (duplicate) return duplicate;
  }
  const forced = forcedReject(state);
  if (forced) return forced;
  const qty = r.qty ?? roundDown(div(r.notional ?? '0', mark, 12), 9);
  const risk = exposureCheck(state, account, {
    symbol: r.symbol,
    side: r.side,
    qty,
    price: r.limitPrice ?? r.stopPrice,
    notional: r.notional,
  });
  if (risk) return risk;

  const parentId = newId();
  const grouped = ['bracket', 'oco', 'oto'].includes(r.orderClass);
  const ext = (type: AlpacaType, clientOrderId: string): AlpacaExt => ({
    clientOrderId,
    type,
    timeInForce: r.timeInForce,
    orderClass: r.orderClass,
    notional: null,
    extendedHours: r.extendedHours,
    positionIntent: r.positionIntent,
    trailPrice: null,
    trailPercent: null,
    assetId: '',
    assetClass: r.symbol.includes('/') ? 'crypto' : 'us_equity',
    replacedBy: null,
    replaces: null,
  });
  const assetId = assetIdFor(state, r.symbol);
  const clientOrderId = r.clientOrderId ?? newId();
  const parent = state.engine.place({
    id: parentId,
    account,
    symbol: r.symbol,
    side: r.side,
    qty,
    kind: KIND[r.type],
    limitPrice: r.limitPrice,
    stopPrice: r.stopPrice,
    clientOrderId,
    groupId: grouped ? parentId : null,
    ocoGroup: r.orderClass === 'oco' ? `${parentId}:oco` : null,
    ext: {
      ...ext(r.type, clientOrderId),
      assetId,
      notional: r.notional,
      trailPrice: r.trailPrice,
      trailPercent: r.trailPercent,
    },
  });
  const legs: EngineOrder<AlpacaExt>[] = [];
  const exitSide = r.orderClass === 'oco' ? r.side : r.side === 'buy' ? 'sell' : 'buy';
  const leg = (type: AlpacaType, limitPrice: string | null, stopPrice: string | null) => {
    const legClientId = newId();
    legs.push(
      state.engine.place({
        id: newId(),
        account,
        symbol: r.symbol,
        side: exitSide,
        qty,
        kind: KIND[type],
        limitPrice,
        stopPrice,
        clientOrderId: legClientId,
        parentId,
        groupId: parentId,
        ocoGroup: r.orderClass === 'bracket' ? `${parentId}:exit` : r.orderClass === 'oco' ? `${parentId}:oco` : null,
        held: r.orderClass !== 'oco',
        ext: { ...ext(type, legClientId), assetId },
      }),
    );
  };
  if (r.takeProfit && (r.orderClass === 'bracket' || r.orderClass === 'oto'))
    leg('limit', r.takeProfit.limitPrice, null);
  if (r.stopLoss && grouped) {
    leg(r.stopLoss.limitPrice ? 'stop_limit' : 'stop', r.stopLoss.limitPrice, r.stopLoss.stopPrice);
  }
  const answer = renderOrder(state, parent, { nested: true, justSubmitted: true });
  state.engine.process(parent);
  for (const o of legs) if (o.status === 'working') state.engine.process(o);
  return json(200, answer);
}

function submit(ctx: AlpacaContext, req: FakeRequest): FakeResponse {
  const parsed = parseOrderRequest(req.body, ctx.state.config.clientOrderIdMaxLength);
  if (!parsed.ok) return parsed.response;
  return submitParsed(ctx, ctx.accountOf(req).id, parsed.value);
}

function byClientId(ctx: AlpacaContext, req: FakeRequest): FakeResponse {
  const clientOrderId = req.query.get('client_order_id');
  if (!clientOrderId) return invalid('client_order_id is missing');
  const account = ctx.accountOf(req).id;
  const order = ctx.state.engine.orders.find((o) => o.account === account && o.ext.clientOrderId === clientOrderId);
  if (!order) return notFound(ctx.state, 'order');
  ctx.state.engine.poll(order);
  return json(200, renderOrder(ctx.state, order, { nested: req.query.get('nested') === 'true' }));
}

function list(ctx: AlpacaContext, req: FakeRequest): FakeResponse {
  const q = req.query;
  const status = q.get('status') ?? 'open';
  if (!['open', 'closed', 'all'].includes(status)) return invalid(`invalid status "${status}"`);
  const limitText = q.get('limit');
  const limit = limitText === null ? 50 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1) return invalid('invalid limit');
  const direction = q.get('direction') ?? 'desc';
  if (direction !== 'asc' && direction !== 'desc') return invalid('invalid direction');
  const after = q.get('after');
  const until = q.get('until');
  const afterMicros = after === null ? null : parseRfc3339Micros(after);
  const untilMicros = until === null ? null : parseRfc3339Micros(until);
  if ((after !== null && afterMicros === null) || (until !== null && untilMicros === null)) {
    return invalid('invalid after or until timestamp');
  }
  const nested = q.get('nested') === 'true';
  const symbols =
    q
      .get('symbols')
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) ?? null;
  const side = q.get('side');
  const account = ctx.accountOf(req).id;
  const orders = ctx.state.engine.orders
    .filter((o) => o.account === account)
    .filter((o) => status === 'all' || (status === 'open') === !TERMINAL.has(o.status))
    .filter((o) => afterMicros === null || o.createdAt > afterMicros)
    .filter((o) => untilMicros === null || o.createdAt < untilMicros)
    .filter((o) => !nested || o.parentId === null)
    .filter((o) => symbols === null || symbols.includes(o.symbol))
    .filter((o) => side === null || o.side === side)
    .sort((a, b) => (direction === 'asc' ? a.createdAt - b.createdAt : b.createdAt - a.createdAt))
    .slice(0, Math.min(limit, 500));
  for (const order of orders) ctx.state.engine.poll(order);
  return json(
    200,
    orders.map((o) => renderOrder(ctx.state, o, { nested })),
  );
}

/** DELETE /v2/orders: 207 with one {id, status, body} per order that was open. */
function cancelAll(ctx: AlpacaContext, req: FakeRequest): FakeResponse {
  const account = ctx.accountOf(req).id;
  const open = ctx.state.engine.openOrders(account);
  for (const order of open) ctx.state.engine.cancel(order, 'group');
  return json(
    207,
    open.map((o) => ({ id: o.id, status: 200, body: renderOrder(ctx.state, o) })),
  );
}

/** PATCH: a new order with a new id replaces the old one, which ends 'replaced' with replaced_by set. */
function replace(ctx: AlpacaContext, req: FakeRequest, old: EngineOrder<AlpacaExt>): FakeResponse {
  const { state } = ctx;
  if (!isRecord(req.body)) return invalid('request body format is invalid');
  if (TERMINAL.has(old.status)) return invalid(`order is already in "${renderStatus(ctx, old)}" state`);
  if (old.ext.orderClass === 'oto') return invalid('replacing oto orders is not supported');
  const body = req.body;
  const field = (key: string): string | null | undefined => {
    if (body[key] === undefined || body[key] === null) return undefined;
    const value = parseDecimal(body[key]);
    return value !== null && isPositive(value) ? value : null;
  };
  const qty = field('qty');
  const limitPrice = field('limit_price');
  const stopPrice = field('stop_price');
  const trail = field('trail');
  if (qty === null || limitPrice === null || stopPrice === null || trail === null) return invalid('invalid decimal');
  if (limitPrice !== undefined && old.limitPrice === null) return invalid('limit_price is not allowed for this order');
  if (stopPrice !== undefined && old.stopPrice === null) return invalid('stop_price is not allowed for this order');
  const tif = str(body, 'time_in_force');
  if (tif !== undefined && !['day', 'gtc', 'opg', 'cls', 'ioc', 'fok'].includes(tif)) {
    return invalid(`invalid time_in_force "${tif}"`);
  }
  const clientOrderId = str(body, 'client_order_id') ?? newId();
  const duplicate = duplicateClientId(state, old.account, clientOrderId);
  if (duplicate) return duplicate;
  const id = newId();
  old.ext.replacedBy = id;
  const next = state.engine.replace(old, {
    id,
    account: old.account,
    symbol: old.symbol,
    side: old.side,
    qty: qty ?? old.qty,
    kind: old.kind,
    limitPrice: limitPrice ?? old.limitPrice,
    stopPrice: stopPrice ?? old.stopPrice,
    clientOrderId,
    parentId: old.parentId,
    groupId: old.groupId,
    ocoGroup: old.ocoGroup,
    ext: {
      ...old.ext,
      clientOrderId,
      timeInForce: tif ?? old.ext.timeInForce,
      trailPrice: trail ?? old.ext.trailPrice,
      replaces: old.id,
      replacedBy: null,
    },
  });
  const answer = renderOrder(state, next, { nested: true, justSubmitted: true });
  state.engine.process(next);
  return json(200, answer);
}
