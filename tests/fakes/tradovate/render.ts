/** Tradovate entity shapes (BROKERS.md §2.4): Order, Fill, ExecutionReport, Position, cash-balance snapshot. */
import { accountMetrics } from '../common/book.ts';
import { isoMs } from '../common/clock.ts';
import { big, isZero, num } from '../common/decimal.ts';
import type { EngineOrder } from '../common/engine.ts';
import type { TradovateExt, TradovateState, TvUser } from './types.ts';

export type Row = Record<string, unknown> & { id: number };
export type TvOrder = EngineOrder<TradovateExt>;

export function tradeDate(micros: number) {
  const d = new Date(Math.floor(micros / 1000));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

export function ordStatus(state: TradovateState, order: TvOrder): string {
  switch (order.status) {
    case 'held':
      return state.config.heldBracketStatus;
    case 'working':
      return 'Working';
    case 'filled':
      return state.config.filledStatus;
    case 'cancelled':
    case 'replaced':
      return state.config.canceledStatus;
    case 'rejected':
      return 'Rejected';
    default:
      return 'Expired';
  }
}

export function renderOrder(state: TradovateState, o: TvOrder): Row {
  return {
    id: o.ext.numericId,
    accountId: o.ext.accountId,
    contractId: o.ext.contractId,
    timestamp: isoMs(o.createdAt),
    action: o.ext.action,
    ordStatus: ordStatus(state, o),
    ...(o.ext.ocoId !== null ? { ocoId: o.ext.ocoId } : {}),
    ...(o.ext.parentId !== null ? { parentId: o.ext.parentId } : {}),
    ...(o.ext.linkedId !== null ? { linkedId: o.ext.linkedId } : {}),
    admin: false,
  };
}

/** Fills of an order, with ids derived from the order id so they stay stable across reads. */
export function renderFills(state: TradovateState, o: TvOrder): Row[] {
  return state.engine.fills
    .filter((f) => f.orderId === o.id)
    .map((f, i) => ({
      id: o.ext.numericId * 1000 + i + 1,
      orderId: o.ext.numericId,
      contractId: o.ext.contractId,
      timestamp: isoMs(f.at),
      tradeDate: tradeDate(f.at),
      action: o.ext.action,
      qty: num(f.qty),
      price: num(f.price),
      active: true,
      finallyPaired: 0,
    }));
}

/** The execution reports an order's history implies: New, one Trade per fill, then Canceled or Rejected. */
export function renderReports(state: TradovateState, o: TvOrder): Row[] {
  const contract = state.contracts.find((c) => c.id === o.ext.contractId);
  const base = {
    name: contract?.name ?? o.symbol,
    accountId: o.ext.accountId,
    contractId: o.ext.contractId,
    orderId: o.ext.numericId,
    action: o.ext.action,
  };
  const rows: Row[] = [
    {
      id: o.ext.numericId * 1000 + 500,
      commandId: o.ext.commandId,
      ...base,
      timestamp: isoMs(o.createdAt),
      tradeDate: tradeDate(o.createdAt),
      execType: 'New',
      ordStatus: o.status === 'held' ? state.config.heldBracketStatus : 'Working',
      cumQty: 0,
    },
  ];
  let cum = big(0);
  let value = big(0);
  state.engine.fills
    .filter((f) => f.orderId === o.id)
    .forEach((f, i) => {
      cum = cum.plus(f.qty);
      value = value.plus(big(f.qty).times(f.price));
      const done = cum.gte(o.qty);
      rows.push({
        id: o.ext.numericId * 1000 + 501 + i,
        commandId: o.ext.commandId,
        ...base,
        timestamp: isoMs(f.at),
        tradeDate: tradeDate(f.at),
        execType: 'Trade',
        execRefId: String(o.ext.numericId * 1000 + i + 1),
        ordStatus: done ? state.config.filledStatus : 'Working',
        cumQty: num(cum),
        avgPx: num(value.div(cum).round(10)),
        lastQty: num(f.qty),
        lastPx: num(f.price),
      });
    });
  const end = o.cancelledAt ?? o.rejectedAt;
  if ((o.status === 'cancelled' || o.status === 'rejected') && end !== null) {
    const rejected = o.status === 'rejected';
    rows.push({
      id: o.ext.numericId * 1000 + 999,
      commandId: o.ext.cancelCommandId ?? o.ext.commandId,
      ...base,
      timestamp: isoMs(end),
      tradeDate: tradeDate(end),
      execType: rejected ? 'Rejected' : 'Canceled',
      ordStatus: ordStatus(state, o),
      cumQty: num(cum),
      ...(rejected ? { rejectReason: 'UnknownReason', text: o.rejectReason ?? 'Rejected' } : {}),
    });
  }
  return rows;
}

export function positionRows(state: TradovateState, user: TvUser): Row[] {
  const rows: Row[] = [];
  for (const account of user.accounts) {
    const book = state.engine.accounts.get(String(account.id));
    for (const pos of book?.positions.values() ?? []) {
      if (isZero(pos.qty) && !state.config.keepFlatPositions) continue;
      const contract = state.contracts.find((c) => c.name === pos.symbol);
      if (!contract) continue;
      rows.push({
        id: account.id * 100000 + contract.id,
        accountId: account.id,
        contractId: contract.id,
        timestamp: isoMs(pos.updatedAt),
        tradeDate: tradeDate(pos.updatedAt),
        netPos: num(pos.qty),
        ...(isZero(pos.qty) ? {} : { netPrice: num(pos.avgPrice) }),
        bought: num(pos.bought),
        boughtValue: num(pos.boughtValue),
        sold: num(pos.sold),
        soldValue: num(pos.soldValue),
        prevPos: 0,
      });
    }
  }
  return rows;
}

export function cashSnapshot(state: TradovateState, accountId: number): Record<string, unknown> {
  const book = state.engine.account(String(accountId));
  const contractOf = (symbol: string) => state.contracts.find((c) => c.name === symbol);
  const metrics = accountMetrics(
    book,
    (s) => state.engine.mark(s),
    (s) => contractOf(s)?.multiplier ?? '1',
    'futures',
  );
  let margin = big(0);
  for (const pos of book.positions.values())
    margin = margin.plus(
      big(pos.qty)
        .abs()
        .times(contractOf(pos.symbol)?.margin ?? '0'),
    );
  return {
    accountId,
    timestamp: new Date().toISOString(),
    tradeDate: tradeDate(Date.now() * 1000),
    currencyId: 1,
    totalCashValue: num(metrics.cash),
    totalPnL: num(big(metrics.realized).plus(metrics.unrealized)),
    initialMargin: num(margin),
    maintenanceMargin: num(margin.times('0.9')),
    netLiq: num(metrics.equity),
    openPnL: num(metrics.unrealized),
    realizedPnL: num(metrics.realized),
    weekRealizedPnL: num(metrics.realized),
  };
}
