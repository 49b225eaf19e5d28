/**
 * IBKR orders (BROKERS.md §3.4, §3.5, §3.10): submission with the order-reply question loop, the duplicate-cOID
 * answer that means "the order exists", lookups through live orders (order_ref = cOID) with trades as the fallback
 * for orders of an earlier session, single-order status, cancel.
 */
import { Big } from 'big.js';
import { BrokerRejected, BrokerUnavailable } from '../errors.ts';
import { asRecord, type BrokerResponse } from '../http.ts';
import type { BrokerFill, BrokerOrder, OrderRequest } from '../types.ts';
import type { ContractDirectory } from './contracts.ts';
import { errorText } from './gateway.ts';
import { commonStatus, fillsFromTrades, orderFromLiveItem, orderFromStatus } from './mapping.ts';
import type { IbkrSession } from './session.ts';
import { acknowledgedOrder, ticketsFor } from './tickets.ts';

/** Questions confirmed per order before giving up (ibind allows 20; real orders ask one or two). */
export const MAX_REPLY_ROUNDS = 5;
/** §3.4/§3.10: `Local order ID=<cOID> is already registered.` (and wordings close to it). */
const DUPLICATE = /already registered|duplicate (?:order|local order|c?oid)/i;
/** Trades are paced 1 per 5 s; one answer serves the lookups that follow within that window. */
const TRADES_TTL_MS = 5_000;
const TERMINAL = new Set(['filled', 'cancelled', 'rejected', 'expired']);

type Answer =
  | { kind: 'ack'; acks: Array<{ orderId: string; status: string }> }
  | { kind: 'question'; id: string; message: string }
  | { kind: 'error'; error: string }
  | { kind: 'unknown' };

/** An answer to an order submission or a reply: acknowledgement (list or bare object), question, or error. */
function interpret(response: BrokerResponse): Answer {
  const error = errorText(response);
  if (error !== null) return { kind: 'error', error };
  const items = (Array.isArray(response.json) ? response.json : [response.json]).map(asRecord);
  const question = items.find((i) => typeof i.id === 'string' && (i.message !== undefined || i.messageIds));
  if (question) {
    const message = Array.isArray(question.message) ? question.message.join(' ') : String(question.message ?? '');
    return { kind: 'question', id: String(question.id), message: message.replace(/\s+/g, ' ').trim() };
  }
  const acks = items
    .filter((i) => i.order_id !== undefined && i.order_id !== null)
    .map((i) => ({ orderId: String(i.order_id), status: String(i.order_status ?? 'Submitted') }));
  return acks.length > 0 ? { kind: 'ack', acks } : { kind: 'unknown' };
}

export class IbkrOrders {
  private readonly session: IbkrSession;
  private readonly contracts: ContractDirectory;
  private trades: { at: number; rows: unknown[] } | null = null;
  private submitting: Promise<unknown> = Promise.resolve();

  constructor(session: IbkrSession, contracts: ContractDirectory) {
    this.session = session;
    this.contracts = contracts;
  }

  private get accountPath(): string {
    return `/iserver/account/${encodeURIComponent(this.session.accountId)}`;
  }

  private readonly symbolOf = (conid: unknown) => this.contracts.symbolOf(conid);

  /**
   * §3.4: one order (or bracket) per request, and the next only once the previous one is acknowledged, so
   * submissions of this connection go out one at a time, question loop included.
   */
  submit(order: OrderRequest, signal: AbortSignal | undefined): Promise<BrokerOrder> {
    const previous = this.submitting;
    const run = abortable(previous, signal).then(() => this.submitNow(order, signal));
    // Both: a call that gave up while waiting must not let the next one overtake the one still running.
    this.submitting = Promise.allSettled([previous, run]);
    return run;
  }

  private async submitNow(order: OrderRequest, signal: AbortSignal | undefined): Promise<BrokerOrder> {
    const conid = await this.contracts.conidOf(order.symbol, signal);
    const orders = ticketsFor(order, this.session.accountId, conid);
    let response = await this.session.request(
      { method: 'POST', path: `${this.accountPath}/orders`, body: { orders }, signal },
      'orders',
    );
    for (let round = 0; ; round += 1) {
      const answer = interpret(response);
      if (answer.kind === 'ack') {
        return acknowledgedOrder(order, answer.acks, (s) => commonStatus(s, '0', order.quantity));
      }
      if (answer.kind === 'error') {
        if (DUPLICATE.test(answer.error)) return this.existing(order.clientOrderId, signal);
        throw new BrokerRejected(`IBKR rejected the order: ${answer.error}`);
      }
      if (answer.kind === 'unknown') {
        // Whether it was placed is unknown: a retry looks it up by cOID instead of placing a second one.
        throw new BrokerUnavailable('IBKR answered the order with an unexpected body: its outcome is unknown');
      }
      if (round >= MAX_REPLY_ROUNDS) {
        await this.decline(answer.id, signal);
        throw new BrokerRejected(`IBKR kept asking for confirmation: ${answer.message}`, { brokerCode: 'questions' });
      }
      response = await this.session.request({
        method: 'POST',
        path: `/iserver/reply/${encodeURIComponent(answer.id)}`,
        body: { confirmed: true },
        signal,
      });
    }
  }

  /** Discards the unanswered order (a question left open could otherwise be confirmed later); best effort. */
  private async decline(replyId: string, signal: AbortSignal | undefined): Promise<void> {
    await this.session.gateway
      .send({
        method: 'POST',
        path: `/iserver/reply/${encodeURIComponent(replyId)}`,
        body: { confirmed: false },
        signal,
      })
      .catch(() => undefined);
  }

  /** The duplicate-cOID answer means the order exists (§3.10): find it, never report it as a rejection. */
  private async existing(clientOrderId: string, signal: AbortSignal | undefined): Promise<BrokerOrder> {
    const found = await this.byClientId(clientOrderId, signal);
    if (found) return found;
    throw new BrokerUnavailable(
      `IBKR already has order ${clientOrderId} but does not list it yet: look it up again shortly`,
    );
  }

  /** GET /iserver/account/orders; an empty first answer of a session is the gateway subscribing: ask again (§3.5). */
  async liveOrders(signal: AbortSignal | undefined): Promise<unknown[]> {
    const fetchOnce = async () => {
      const response = await this.session.request(
        { path: '/iserver/account/orders', query: { accountId: this.session.accountId }, bucket: 'orders', signal },
        'accounts',
      );
      const error = errorText(response);
      if (error !== null) throw new BrokerUnavailable(`IBKR live orders failed: ${error}`);
      const body = asRecord(response.json);
      return { orders: Array.isArray(body.orders) ? body.orders : [], snapshot: body.snapshot };
    };
    let answer = await fetchOnce();
    if (answer.orders.length === 0 && (!this.session.liveOrdersPrimed || answer.snapshot === false)) {
      answer = await fetchOnce();
    }
    this.session.liveOrdersPrimed = true;
    const account = this.session.accountId;
    return answer.orders.filter((o) => {
      const acct = asRecord(o).acct ?? asRecord(o).account;
      return acct === undefined || String(acct) === account;
    });
  }

  async byClientId(clientOrderId: string, signal: AbortSignal | undefined): Promise<BrokerOrder | null> {
    const items = (await this.liveOrders(signal)).map((raw) => ({ raw, order: orderFromLiveItem(raw, this.symbolOf) }));
    const parent = items.find((i) => i.order.clientOrderId === clientOrderId);
    if (!parent) return this.fromTrades(clientOrderId, signal);
    const legs = items
      .filter((i) => String(asRecord(i.raw).parentId ?? '') === parent.order.brokerOrderId)
      .map((i) => i.order)
      .sort((a, b) => Number(a.brokerOrderId) - Number(b.brokerOrderId)); // live orders list newest first
    const fills = await this.fillsOf(parent.order, signal);
    return { ...parent.order, ...(fills ? { fills } : {}), ...(legs.length > 0 ? { legs } : {}) };
  }

  /**
   * Live orders cover the current session only; an order of an earlier session shows up in trades, by order_ref
   * (§3.10). Trades carry no order id or size, so the order is rebuilt from its executions.
   */
  private async fromTrades(clientOrderId: string, signal: AbortSignal | undefined): Promise<BrokerOrder | null> {
    const rows = (await this.tradeRows(signal, true)).rows;
    const fills = fillsFromTrades(rows, clientOrderId, this.session.accountId);
    const first = asRecord(rows.find((r) => String(asRecord(r).order_ref ?? '') === clientOrderId));
    if (fills.length === 0) return null;
    const quantity = fills.reduce((sum, f) => sum.plus(f.quantity), new Big(0));
    const notional = fills.reduce((sum, f) => sum.plus(new Big(f.quantity).times(f.price)), new Big(0));
    const last = fills[fills.length - 1];
    return {
      brokerOrderId: String(first.order_id ?? first.orderId ?? `cOID:${clientOrderId}`),
      clientOrderId,
      symbol: String(first.symbol ?? this.symbolOf(first.conid) ?? ''),
      side: /^s/i.test(String(first.side ?? '')) ? 'sell' : 'buy',
      quantity: quantity.toFixed(),
      orderType: 'market',
      status: 'filled',
      brokerStatus: 'Executed (from trades)',
      filledQty: quantity.toFixed(),
      avgFillPrice: notional.div(quantity).toFixed(),
      limitPrice: null,
      stopPrice: null,
      submittedAt: fills[0]?.filledAt ?? null,
      updatedAt: last?.filledAt ?? null,
      fills,
    };
  }

  async byId(brokerOrderId: string, signal: AbortSignal | undefined): Promise<BrokerOrder | null> {
    if (brokerOrderId.startsWith('cOID:')) return this.fromTrades(brokerOrderId.slice(5), signal);
    const response = await this.session.request(
      { path: `/iserver/account/order/status/${encodeURIComponent(brokerOrderId)}`, signal },
      'accounts',
    );
    const error = errorText(response);
    if (error !== null) {
      if (response.status === 400 || response.status === 404 || /exist|not found|invalid/i.test(error)) return null;
      throw new BrokerUnavailable(`IBKR order status failed: ${error}`);
    }
    const order = orderFromStatus(response.json, this.symbolOf);
    const fills = await this.fillsOf(order, signal);
    return fills ? { ...order, fills } : order;
  }

  async open(signal: AbortSignal | undefined): Promise<BrokerOrder[]> {
    return (await this.liveOrders(signal))
      .map((raw) => orderFromLiveItem(raw, this.symbolOf))
      .filter((o) => !TERMINAL.has(o.status));
  }

  async cancel(brokerOrderId: string, signal: AbortSignal | undefined): Promise<void> {
    if (!/^\d+$/.test(brokerOrderId)) {
      throw new BrokerRejected(`IBKR cannot cancel order ${brokerOrderId}: it is no longer live`);
    }
    const response = await this.session.request(
      { method: 'DELETE', path: `${this.accountPath}/order/${brokerOrderId}`, signal },
      'accounts',
    );
    const error = errorText(response);
    if (error !== null) throw new BrokerRejected(`IBKR could not cancel order ${brokerOrderId}: ${error}`);
  }

  /**
   * Executions of an order with fills, matched by cOID (bracket legs have none). Best effort: the order itself is
   * the answer, so a failed trades call leaves the fills out instead of failing the lookup.
   */
  private async fillsOf(order: BrokerOrder, signal: AbortSignal | undefined): Promise<BrokerFill[] | null> {
    const { clientOrderId } = order;
    if (!clientOrderId || !new Big(order.filledQty).gt(0)) return null;
    const accountId = this.session.accountId;
    const complete = (fills: BrokerFill[]) =>
      fills.reduce((sum, f) => sum.plus(f.quantity), new Big(0)).gte(order.filledQty);
    try {
      const cached = await this.tradeRows(signal, false);
      let fills = fillsFromTrades(cached.rows, clientOrderId, accountId);
      if (!cached.fresh && !complete(fills)) {
        fills = fillsFromTrades((await this.tradeRows(signal, true)).rows, clientOrderId, accountId);
      }
      return fills.length > 0 ? fills : null;
    } catch (error) {
      if (signal?.aborted || !(error instanceof BrokerUnavailable || error instanceof BrokerRejected)) throw error;
      return null;
    }
  }

  private async tradeRows(
    signal: AbortSignal | undefined,
    fresh: boolean,
  ): Promise<{ rows: unknown[]; fresh: boolean }> {
    if (!fresh && this.trades && Date.now() - this.trades.at < TRADES_TTL_MS) {
      return { rows: this.trades.rows, fresh: false };
    }
    const response = await this.session.request(
      { path: '/iserver/account/trades', bucket: 'trades', signal },
      'accounts',
    );
    const error = errorText(response);
    if (error !== null) throw new BrokerUnavailable(`IBKR trades failed: ${error}`);
    const rows = Array.isArray(response.json) ? response.json : [];
    this.trades = { at: Date.now(), rows };
    return { rows, fresh: true };
  }
}

/** Waits for `previous`, or fails as soon as the caller gives up (its signal aborts) while still waiting. */
function abortable(previous: Promise<unknown>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return previous.then(() => undefined);
  if (signal.aborted) return Promise.reject(new BrokerUnavailable('IBKR order submission timed out'));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new BrokerUnavailable('IBKR order submission timed out waiting for the previous one'));
    signal.addEventListener('abort', onAbort, { once: true });
    previous.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
