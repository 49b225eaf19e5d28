/** Alpaca positions and account (BROKERS.md §1.2, §1.5): closing a position submits a market order. */
import { openPositions } from '../common/book.ts';
import { big, cmp, div, isPositive, mul, parseDecimal, roundDown, sign } from '../common/decimal.ts';
import { type FakeRequest, type FakeResponse, json, type Router } from '../common/http.ts';
import { type AlpacaContext, submitParsed } from './orders.ts';
import { alpacaError, assetIdFor, invalid, renderAccount, renderPosition } from './render.ts';

export function registerPositionRoutes(router: Router, ctx: AlpacaContext): void {
  router
    .add('GET', '/v2/account', (req) => json(200, renderAccount(ctx.state, ctx.accountOf(req))))
    .add('GET', '/v2/positions', (req) => {
      const account = ctx.accountOf(req).id;
      const rows = openPositions(ctx.state.engine.account(account)).map((p) =>
        renderPosition(ctx.state, account, p.symbol),
      );
      return json(200, rows);
    })
    .add('GET', '/v2/positions/:symbol', (req) => {
      const account = ctx.accountOf(req).id;
      const symbol = resolveSymbol(ctx, account, req.params.symbol ?? '');
      const row = symbol === null ? null : renderPosition(ctx.state, account, symbol);
      return row ? json(200, row) : positionMissing(ctx);
    })
    .add('DELETE', '/v2/positions/:symbol', (req) => closeOne(ctx, req))
    .add('DELETE', '/v2/positions', (req) => closeAll(ctx, req));
}

function positionMissing(ctx: AlpacaContext): FakeResponse {
  return alpacaError(404, ctx.state.config.notFoundCode, 'position does not exist');
}

/** A symbol, its asset id, or a crypto pair written without the slash (BTCUSD for BTC/USD). */
function resolveSymbol(ctx: AlpacaContext, account: string, key: string): string | null {
  for (const pos of openPositions(ctx.state.engine.account(account))) {
    const symbol = pos.symbol;
    if (symbol === key || symbol.replace('/', '') === key || assetIdFor(ctx.state, symbol) === key) return symbol;
  }
  return null;
}

function closeOne(ctx: AlpacaContext, req: FakeRequest): FakeResponse {
  const account = ctx.accountOf(req).id;
  const symbol = resolveSymbol(ctx, account, req.params.symbol ?? '');
  if (symbol === null) return positionMissing(ctx);
  const qtyText = req.query.get('qty');
  const percentText = req.query.get('percentage');
  if (qtyText !== null && percentText !== null) return invalid('only one of qty or percentage may be specified');
  const held = ctx.state.engine.account(account).positions.get(symbol)?.qty ?? '0';
  const size = big(held).abs().toFixed();
  let qty = size;
  if (qtyText !== null) {
    const parsed = parseDecimal(qtyText);
    if (parsed === null || !isPositive(parsed)) return invalid('invalid qty');
    qty = parsed;
  } else if (percentText !== null) {
    const percent = parseDecimal(percentText);
    if (percent === null || !isPositive(percent) || cmp(percent, 100) > 0) {
      return invalid('percentage must be between 0 and 100');
    }
    qty = roundDown(div(mul(size, percent), 100, 12), 9);
  }
  const before =
    ctx.state.config.closePositionReturns === 'position' ? renderPosition(ctx.state, account, symbol) : null;
  const response = submitClose(ctx, account, symbol, sign(held) > 0 ? 'sell' : 'buy', qty);
  if (before && response.status === 200) return json(200, before);
  return response;
}

function submitClose(ctx: AlpacaContext, account: string, symbol: string, side: 'buy' | 'sell', qty: string) {
  const crypto = symbol.includes('/');
  return submitParsed(ctx, account, {
    symbol,
    qty,
    notional: null,
    side,
    type: 'market',
    timeInForce: crypto ? 'gtc' : 'day',
    limitPrice: null,
    stopPrice: null,
    trailPrice: null,
    trailPercent: null,
    extendedHours: false,
    clientOrderId: null,
    orderClass: '',
    takeProfit: null,
    stopLoss: null,
    positionIntent: side === 'sell' ? 'sell_to_close' : 'buy_to_close',
  });
}

/** DELETE /v2/positions: 207 with one {symbol, status, body} per open position (after cancelling orders if asked). */
function closeAll(ctx: AlpacaContext, req: FakeRequest): FakeResponse {
  const account = ctx.accountOf(req).id;
  if (req.query.get('cancel_orders') === 'true') {
    for (const order of ctx.state.engine.openOrders(account)) ctx.state.engine.cancel(order, 'group');
  }
  const results = openPositions(ctx.state.engine.account(account)).map((pos) => {
    const response = submitClose(
      ctx,
      account,
      pos.symbol,
      sign(pos.qty) > 0 ? 'sell' : 'buy',
      big(pos.qty).abs().toFixed(),
    );
    return { symbol: pos.symbol, status: response.status, body: response.json ?? null };
  });
  return json(207, results);
}
