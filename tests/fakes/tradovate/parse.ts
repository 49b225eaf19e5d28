/** Tradovate request bodies (BROKERS.md §2.3, §2.5): PlaceOrder, brackets, and the checks before an order exists. */
import { add, big, cmp, parseDecimal } from '../common/decimal.ts';
import type { OrderKind } from '../common/engine.ts';
import { type FakeResponse, json } from '../common/http.ts';
import { intLike, isRecord, type JsonObject, str } from '../common/json.ts';
import type { AuthContext } from './auth.ts';
import type { TvContract, TvUser } from './types.ts';

export interface TvContext extends AuthContext {
  /** A contract by name, listing it at the default price when one is configured; null: unknown. */
  contractByName(name: string): TvContract | null;
}

export const KINDS: Record<string, OrderKind> = {
  Market: 'market',
  Limit: 'limit',
  Stop: 'stop',
  StopLimit: 'stop_limit',
  MIT: 'mit',
  QTS: 'other',
  TrailingStop: 'other',
  TrailingStopLimit: 'other',
};
const TIFS = ['Day', 'GTC', 'IOC', 'FOK', 'GTD'];

export const failure = (failureReason: string, failureText: string) => json(200, { failureReason, failureText });
/** A validation failure: {violations:[{constraint, value, description}]} (BROKERS.md §2.5, [T7]). */
const violation = (field: string, value: unknown, description: string) =>
  json(200, {
    violations: [
      {
        constraint: value === undefined || value === null ? 'NotNull' : 'Valid',
        value: value ?? null,
        description: `${field}: ${description}`,
      },
    ],
  });

export interface Terms {
  action: 'Buy' | 'Sell';
  orderType: string;
  price: string | null;
  stopPrice: string | null;
  timeInForce: string;
  clOrdId: string | null;
  body: JsonObject;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; response: FakeResponse };

/** The RestrainedOrderVersion part: action, orderType, prices, timeInForce (also the whole of a bracket). */
export function parseTerms(ctx: TvContext, body: JsonObject, prefix = ''): Parsed<Terms> {
  const action = body.action;
  if (action !== 'Buy' && action !== 'Sell') {
    return { ok: false, response: violation(`${prefix}action`, action, 'must be Buy or Sell') };
  }
  const orderType = str(body, 'orderType');
  if (!orderType || !(orderType in KINDS)) {
    return { ok: false, response: violation(`${prefix}orderType`, body.orderType, 'unknown order type') };
  }
  const timeInForce = str(body, 'timeInForce') ?? ctx.state.config.defaultTimeInForce;
  if (!TIFS.includes(timeInForce)) {
    return { ok: false, response: violation(`${prefix}timeInForce`, timeInForce, 'unknown time in force') };
  }
  if (timeInForce === 'GTD' && !str(body, 'expireTime')) {
    return { ok: false, response: violation(`${prefix}expireTime`, null, 'required for GTD') };
  }
  const price = body.price === undefined || body.price === null ? null : parseDecimal(body.price);
  const stopPrice = body.stopPrice === undefined || body.stopPrice === null ? null : parseDecimal(body.stopPrice);
  const needsPrice = orderType === 'Limit' || orderType === 'StopLimit';
  const needsStop = orderType === 'Stop' || orderType === 'StopLimit' || orderType === 'MIT';
  if ((needsPrice && price === null) || (needsStop && stopPrice === null && price === null)) {
    return { ok: false, response: failure('InvalidPrice', `${prefix}price is required for ${orderType} orders`) };
  }
  return {
    ok: true,
    value: { action, orderType, price, stopPrice, timeInForce, clOrdId: str(body, 'clOrdId') ?? null, body },
  };
}

export interface PlaceOrder extends Terms {
  account: { id: number; name: string };
  contract: TvContract;
  orderQty: number;
  isAutomated: boolean;
}

export function parsePlaceOrder(ctx: TvContext, user: TvUser, body: unknown): Parsed<PlaceOrder> {
  if (!isRecord(body)) return { ok: false, response: { status: 400 } };
  const symbol = str(body, 'symbol');
  if (!symbol) return { ok: false, response: violation('symbol', body.symbol, 'required') };
  const orderQty = body.orderQty;
  if (typeof orderQty !== 'number' || !Number.isInteger(orderQty) || orderQty <= 0) {
    return { ok: false, response: violation('orderQty', orderQty, 'must be a positive integer') };
  }
  const terms = parseTerms(ctx, body);
  if (!terms.ok) return terms;
  const accountId = intLike(body.accountId);
  const spec = str(body, 'accountSpec');
  const account = user.accounts.find((a) => (accountId !== undefined ? a.id === accountId : a.name === spec));
  if (!account) return { ok: false, response: failure('UnknownReason', 'Access is denied') };
  const contract = ctx.contractByName(symbol);
  if (!contract) return { ok: false, response: failure('InvalidContract', `Unknown contract ${symbol}`) };
  const isAutomated = body.isAutomated === true;
  if (ctx.state.config.requireIsAutomated && !isAutomated) {
    return { ok: false, response: failure('UnknownReason', 'isAutomated must be true for automated orders') };
  }
  return { ok: true, value: { ...terms.value, account, contract, orderQty, isAutomated } };
}

/** Checks after parsing: duplicate clOrdId (when configured), forced rejections, position limit. */
export function businessChecks(ctx: TvContext, o: PlaceOrder, clOrdIds: Array<string | null>): FakeResponse | null {
  const { state } = ctx;
  if (state.config.rejectDuplicateClOrdId) {
    const wanted = clOrdIds.filter((id): id is string => id !== null);
    if (state.commands.some((c) => c.commandType === 'New' && c.clOrdId !== undefined && wanted.includes(c.clOrdId))) {
      return failure('UnknownReason', 'duplicate clOrdId');
    }
  }
  const forced = state.forcedRejects.shift();
  if (forced) return failure(forced.failureReason, forced.failureText);
  if (state.config.maxPosition !== null) {
    const held = state.engine.account(String(o.account.id)).positions.get(o.contract.name)?.qty ?? '0';
    const after = add(held, o.action === 'Buy' ? o.orderQty : -o.orderQty);
    if (cmp(big(after).abs(), state.config.maxPosition) > 0) {
      return failure('MaxPosLimitReached', 'Max position limit reached');
    }
  }
  return null;
}

export function bracketOf(ctx: TvContext, entry: PlaceOrder, body: unknown, name: string): Parsed<PlaceOrder> {
  if (!isRecord(body)) return { ok: false, response: violation(name, body, 'required') };
  const terms = parseTerms(ctx, body, `${name}.`);
  if (!terms.ok) return terms;
  // Brackets have no quantity: they inherit the entry's.
  return {
    ok: true,
    value: {
      ...terms.value,
      account: entry.account,
      contract: entry.contract,
      orderQty: entry.orderQty,
      isAutomated: entry.isAutomated,
    },
  };
}
