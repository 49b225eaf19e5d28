/** IBKR order shapes (BROKERS.md §3.5): live-order items, single-order status, trades. */

import { yyMMddHHmmss } from '../common/clock.ts';
import { fixed, mul, num, sub } from '../common/decimal.ts';
import { type EngineOrder, TERMINAL } from '../common/engine.ts';
import type { IbkrContext } from './session.ts';
import { contractOf, ibStatus, orderTypeInfo } from './tickets.ts';
import type { IbkrExt } from './types.ts';

type IbOrder = EngineOrder<IbkrExt>;

function describe(o: IbOrder): string {
  const price = o.ext.price === null ? '' : ` ${fixed(o.ext.price, 2)}`;
  return `${o.side === 'buy' ? 'Buy' : 'Sell'} ${o.qty} ${orderTypeInfo(o.ext.orderType).label}${price}, ${o.ext.tif}`;
}

export function liveItem(ctx: IbkrContext, o: IbOrder): Record<string, unknown> {
  const contract = contractOf(ctx.state, o);
  const status = ibStatus(o);
  const parent = o.parentId ? ctx.state.engine.get(o.parentId) : undefined;
  return {
    acct: o.account,
    account: o.account,
    conidex: String(contract.conid),
    conid: contract.conid,
    orderId: o.ext.numericId,
    cashCcy: 'USD',
    sizeAndFills: `${o.filledQty}/${o.qty}`,
    orderDesc: describe(o),
    description1: contract.symbol,
    ticker: contract.symbol,
    secType: contract.secType,
    listingExchange: contract.listingExchange,
    remainingQuantity: num(sub(o.qty, o.filledQty)),
    filledQuantity: num(o.filledQty),
    totalSize: num(o.qty),
    companyName: contract.companyName,
    status,
    order_ccp_status: status,
    ...(o.avgFillPrice !== null ? { avgPrice: fixed(o.avgFillPrice, 2) } : {}),
    origOrderType: orderTypeInfo(o.ext.orderType).orig,
    supportsTaxOpt: '1',
    lastExecutionTime: yyMMddHHmmss(o.updatedAt),
    lastExecutionTime_r: Math.floor(o.updatedAt / 1000),
    orderType: orderTypeInfo(o.ext.orderType).label,
    bgColor: '#FFFFFF',
    fgColor: '#000000',
    ...(o.ext.cOID ? { order_ref: o.ext.cOID } : {}),
    ...(parent ? { parentId: parent.ext.numericId } : {}),
    timeInForce: o.ext.tif,
    side: o.side === 'buy' ? 'BUY' : 'SELL',
    outsideRTH: o.ext.outsideRTH,
    ...(o.ext.price !== null ? { price: fixed(o.ext.price, 2) } : {}),
    ...(o.ext.auxPrice !== null ? { auxPrice: fixed(o.ext.auxPrice, 2) } : {}),
  };
}

const DESCRIPTIONS: Record<string, string> = {
  PreSubmitted: 'Order PreSubmitted',
  Submitted: 'Order Submitted',
  Filled: 'Order Filled',
  Cancelled: 'Order Cancelled',
  Inactive: 'Order Inactive',
};

export function statusBody(ctx: IbkrContext, o: IbOrder): Record<string, unknown> {
  const contract = contractOf(ctx.state, o);
  const status = ibStatus(o);
  return {
    sub_type: null,
    request_id: String(o.seq),
    server_id: '0',
    order_id: o.ext.numericId,
    conidex: String(contract.conid),
    conid: contract.conid,
    symbol: contract.symbol,
    side: o.side === 'buy' ? 'B' : 'S',
    contract_description_1: contract.symbol,
    listing_exchange: contract.listingExchange,
    option_acct: 'c',
    company_name: contract.companyName,
    size: fixed(sub(o.qty, o.filledQty), 1),
    total_size: fixed(o.qty, 1),
    currency: 'USD',
    account: o.account,
    order_type: orderTypeInfo(o.ext.orderType).orig,
    ...(o.limitPrice !== null ? { limit_price: fixed(o.limitPrice, 2) } : {}),
    ...(o.stopPrice !== null ? { stop_price: fixed(o.stopPrice, 2) } : {}),
    cum_fill: fixed(o.filledQty, 1),
    order_status: status,
    order_status_description: DESCRIPTIONS[status] ?? status,
    tif: o.ext.tif,
    fg_color: '#000000',
    bg_color: '#FFFFFF',
    order_not_editable: TERMINAL.has(o.status),
    cannot_cancel_order: TERMINAL.has(o.status),
    outside_rth: o.ext.outsideRTH,
    deactivate_order: false,
    sec_type: contract.secType,
    order_description: describe(o),
    order_description_with_contract: `${describe(o)} ${contract.symbol}`,
    ...(o.avgFillPrice !== null ? { average_price: fixed(o.avgFillPrice, 2) } : {}),
    ...(o.ext.cOID ? { order_ref: o.ext.cOID } : {}),
    order_time: yyMMddHHmmss(o.createdAt),
  };
}

/** Executions of every session (the recovery path for orders older than the live list). */
export function trades(ctx: IbkrContext): Array<Record<string, unknown>> {
  const { engine } = ctx.state;
  return engine.fills.map((f) => {
    const order = engine.get(f.orderId);
    const contract = order ? contractOf(ctx.state, order) : undefined;
    const iso = new Date(Math.floor(f.at / 1000)).toISOString();
    return {
      execution_id: `0000e0d5.${f.seq.toString(16).padStart(8, '0')}.01.01`,
      symbol: f.symbol,
      supports_tax_opt: '1',
      side: f.side === 'buy' ? 'B' : 'S',
      order_description: `${f.side === 'buy' ? 'Bot' : 'Sold'} ${f.qty} @ ${fixed(f.price, 2)} on ${contract?.exchange ?? 'SMART'}`,
      trade_time: `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 19)}`,
      trade_time_r: Math.floor(f.at / 1000),
      size: num(f.qty),
      price: fixed(f.price, 2),
      ...(order?.ext.cOID ? { order_ref: order.ext.cOID } : {}),
      submitter: 'fakeuser',
      exchange: contract?.exchange ?? 'SMART',
      commission: '1.0',
      net_amount: num(mul(f.qty, f.price)),
      account: f.account,
      accountCode: f.account,
      company_name: contract?.companyName ?? f.symbol,
      contract_description_1: f.symbol,
      sec_type: contract?.secType ?? 'STK',
      listing_exchange: contract?.listingExchange ?? 'SMART',
      conid: contract?.conid ?? 0,
      conidEx: String(contract?.conid ?? 0),
      clearing_id: 'IB',
      clearing_name: 'IB',
      liquidation_trade: '0',
    };
  });
}
