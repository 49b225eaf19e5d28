/**
 * Alpaca order calls (BROKERS.md §1.2, §1.3, §1.8): the POST body, idempotent submit, lookups that follow
 * replacements, cancel and the open-order list.
 */

import { BrokerRejected, BrokerUnavailable } from '../errors.ts';
import { asRecord, decimalOf } from '../http.ts';
import type { BrokerOrder, CallOptions, OrderRequest } from '../types.ts';
import { type AlpacaClient, alpacaError, BROKER_NAME, errorBodyOf, isDuplicateClientId } from './client.ts';
import { mapOrder } from './mapping.ts';

/** Alpaca's current limit (48 in the legacy docs; a broker still on it answers 422, which is a rejection too). */
export const MAX_CLIENT_ORDER_ID = 128;
/** `limit` of GET /v2/orders is capped at 500. */
export const OPEN_ORDERS_PAGE = 500;
/** Pages of open orders read at most (5,000 orders), so a broker that ignores `until` cannot loop us forever. */
const MAX_OPEN_ORDER_PAGES = 10;
/** Replacement hops followed from a `replaced` order before settling for "cancelled". */
const MAX_REPLACEMENT_HOPS = 5;

function decimal(value: string, field: string): string {
  const exact = decimalOf(value);
  if (exact === null) throw new BrokerRejected(`${BROKER_NAME} order not sent: ${field} "${value}" is not a number`);
  return exact;
}

/** The POST /v2/orders body. Decimals go as JSON strings (never floats), as Alpaca recommends. */
export function orderBody(order: OrderRequest): Record<string, unknown> {
  if (order.clientOrderId === '' || order.clientOrderId.length > MAX_CLIENT_ORDER_ID) {
    throw new BrokerRejected(
      `${BROKER_NAME} order not sent: the client order id must be 1 to ${MAX_CLIENT_ORDER_ID} characters`,
    );
  }
  const body: Record<string, unknown> = {
    symbol: order.symbol,
    qty: decimal(order.quantity, 'quantity'),
    side: order.side,
    type: order.orderType,
    time_in_force: order.timeInForce,
    client_order_id: order.clientOrderId,
  };
  // Prices only where the type uses them: Alpaca refuses a limit_price on a market order.
  if ((order.orderType === 'limit' || order.orderType === 'stop_limit') && order.limitPrice !== undefined) {
    body.limit_price = decimal(order.limitPrice, 'limit price');
  }
  if ((order.orderType === 'stop' || order.orderType === 'stop_limit') && order.stopPrice !== undefined) {
    body.stop_price = decimal(order.stopPrice, 'stop price');
  }
  const takeProfit = order.takeProfit && { limit_price: decimal(order.takeProfit.limitPrice, 'take-profit price') };
  const stopLoss = order.stopLoss && {
    stop_price: decimal(order.stopLoss.stopPrice, 'stop-loss price'),
    ...(order.stopLoss.limitPrice === undefined
      ? {}
      : { limit_price: decimal(order.stopLoss.limitPrice, 'stop-loss limit price') }),
  };
  if (takeProfit && stopLoss) {
    // [C A5]: brackets are day or gtc only; saying so here beats a generic 422.
    if (order.timeInForce !== 'day' && order.timeInForce !== 'gtc') {
      throw new BrokerRejected(`${BROKER_NAME} bracket orders must be day or gtc, not ${order.timeInForce}`);
    }
    Object.assign(body, { order_class: 'bracket', take_profit: takeProfit, stop_loss: stopLoss });
  } else if (takeProfit || stopLoss) {
    // One exit: an OTO (one-triggers-other).
    Object.assign(body, {
      order_class: 'oto',
      ...(takeProfit ? { take_profit: takeProfit } : { stop_loss: stopLoss }),
    });
  } else {
    body.order_class = 'simple';
  }
  return body;
}

function readOrder(json: unknown, what: string): BrokerOrder {
  const order = mapOrder(json);
  if (!order) throw new BrokerUnavailable(`${BROKER_NAME} answered ${what} with an unreadable order`);
  return order;
}

export function createOrderCalls(client: AlpacaClient) {
  /** GET an order path: the raw Order, or null on 404 (and on 422, Alpaca's answer to an id it cannot parse). */
  async function fetchRaw(path: string, options: CallOptions | undefined): Promise<Record<string, unknown> | null> {
    const response = await client.call(path, { signal: options?.signal });
    if (response.status === 404 || response.status === 422) return null;
    if (response.status !== 200) throw alpacaError(response, 'the order lookup');
    return asRecord(response.json);
  }

  /**
   * A `replaced` order is dead; its replacement (`replaced_by`, a new id) carries the order on (§4). Follow the chain
   * to the live order; when a link is missing, the `replaced` order itself maps to cancelled.
   */
  async function followReplacements(raw: Record<string, unknown>, options: CallOptions | undefined) {
    let current = raw;
    for (let hop = 0; hop < MAX_REPLACEMENT_HOPS; hop += 1) {
      const next = current.status === 'replaced' ? current.replaced_by : undefined;
      if (typeof next !== 'string' || next === '') break;
      const replacement = await fetchRaw(`/v2/orders/${encodeURIComponent(next)}?nested=true`, options);
      if (!replacement) break;
      current = replacement;
    }
    return readOrder(current, 'the order lookup');
  }

  async function getOrder(brokerOrderId: string, options?: CallOptions): Promise<BrokerOrder | null> {
    const raw = await fetchRaw(`/v2/orders/${encodeURIComponent(brokerOrderId)}?nested=true`, options);
    return raw ? followReplacements(raw, options) : null;
  }

  async function getOrderByClientId(clientOrderId: string, options?: CallOptions): Promise<BrokerOrder | null> {
    // The endpoint documents only client_order_id (no `nested`), so a grouped order's legs come from a read by id.
    const query = new URLSearchParams({ client_order_id: clientOrderId });
    const response = await client.call(`/v2/orders:by_client_order_id?${query}`, { signal: options?.signal });
    if (response.status === 404) return null;
    if (response.status !== 200) throw alpacaError(response, 'the order lookup');
    const raw = asRecord(response.json);
    const grouped = ['bracket', 'oto', 'oco'].includes(String(raw.order_class));
    if (raw.status !== 'replaced' && grouped && !Array.isArray(raw.legs) && typeof raw.id === 'string') {
      const nested = await fetchRaw(`/v2/orders/${encodeURIComponent(raw.id)}?nested=true`, options);
      if (nested) return readOrder(nested, 'the order lookup');
    }
    return followReplacements(raw, options);
  }

  /** Places the order; a duplicate client id means an earlier attempt got through, so that order is the answer. */
  async function submitOrder(order: OrderRequest, options?: CallOptions): Promise<BrokerOrder> {
    const body = orderBody(order);
    const response = await client.call('/v2/orders', { method: 'POST', body, signal: options?.signal });
    if (response.status === 200 || response.status === 201) {
      const placed = mapOrder(response.json);
      if (placed) return placed;
      // An error inside a 2xx is still a refusal; anything else unreadable may have placed the order, so retry.
      const { message, code } = errorBodyOf(response);
      if (asRecord(response.json).message !== undefined) {
        throw new BrokerRejected(`${BROKER_NAME} rejected the order: ${message}`, { brokerCode: code });
      }
      throw new BrokerUnavailable(`${BROKER_NAME} answered the order with an unreadable body`);
    }
    if (isDuplicateClientId(response)) {
      const existing = await getOrderByClientId(order.clientOrderId, options);
      if (existing) return existing;
      // Alpaca says the id is taken but cannot show the order yet: a retry settles it, a rejection would lie.
      throw new BrokerUnavailable(`${BROKER_NAME} reports the client order id as used but has no order for it yet`);
    }
    throw alpacaError(response, 'the order');
  }

  /** 204 on success. 404 (unknown order) and 422 (already filled, cancelled or expired) are final: BrokerRejected. */
  async function cancelOrder(brokerOrderId: string, options?: CallOptions): Promise<void> {
    const response = await client.call(`/v2/orders/${encodeURIComponent(brokerOrderId)}`, {
      method: 'DELETE',
      signal: options?.signal,
    });
    if (response.status >= 200 && response.status < 300) return;
    if (response.status === 404) {
      const { code } = errorBodyOf(response);
      throw new BrokerRejected(`${BROKER_NAME} rejected the cancel request: order not found`, { brokerCode: code });
    }
    throw alpacaError(response, 'the cancel request');
  }

  /**
   * Every open order, bracket legs nested under their parent. Pages of 500 go back in submission time with `until`
   * (exclusive); ids already seen are skipped in case the broker's bound is inclusive.
   */
  async function getOpenOrders(options?: CallOptions): Promise<BrokerOrder[]> {
    const orders = new Map<string, BrokerOrder>();
    let until: string | null = null;
    for (let page = 0; page < MAX_OPEN_ORDER_PAGES; page += 1) {
      const query = new URLSearchParams({ status: 'open', limit: String(OPEN_ORDERS_PAGE), nested: 'true' });
      if (until !== null) query.set('until', until);
      const response = await client.call(`/v2/orders?${query}`, { signal: options?.signal });
      if (response.status !== 200) throw alpacaError(response, 'the order list');
      if (!Array.isArray(response.json))
        throw new BrokerUnavailable(`${BROKER_NAME} answered an unreadable order list`);
      const rows = response.json;
      for (const row of rows) {
        const order = readOrder(row, 'the order list');
        if (!orders.has(order.brokerOrderId)) orders.set(order.brokerOrderId, order);
      }
      const last = asRecord(rows.at(-1));
      const next = typeof last.submitted_at === 'string' ? last.submitted_at : last.created_at;
      if (rows.length < OPEN_ORDERS_PAGE || typeof next !== 'string' || next === until) break;
      until = next;
    }
    return [...orders.values()];
  }

  return { submitOrder, getOrder, getOrderByClientId, cancelOrder, getOpenOrders };
}
