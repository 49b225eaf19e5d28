/**
 * The order engine shared by the three fakes: orders, fills, positions and cash, independent of any broker's wire
 * format (each broker keeps its own fields in `ext` and renders its own vocabulary).
 *
 * Fill policy (FillConfig): 'immediate' fills a marketable order as soon as it is processed or the mark crosses;
 * 'delay' fills one step every `delayMs`; 'polls' fills one step after every `polls` reads of the order by the
 * client; 'manual' waits for fillOrder(). `steps` > 1 splits each order into that many partial fills.
 * Marketable: market orders; limits when the mark is at or through the limit; stops once the mark touches the stop.
 * Fills happen at the mark (or the price given to fillOrder).
 */
import { EventEmitter } from 'node:events';
import { type AccountBook, type Accounting, applyFill, newAccount, type Side } from './book.ts';
import type { FakeClock } from './clock.ts';
import { add, big, cmp, div, isPositive, min, sub } from './decimal.ts';
import {
  DEFAULT_FILL,
  type EngineFill,
  type EngineOrder,
  type EngineStatus,
  type FillConfig,
  marketable,
  newOrder,
  type PlaceInput,
  stepQuantity,
  TERMINAL,
} from './order.ts';

export type { EngineFill, EngineOrder, EngineStatus, FillConfig, OrderKind, PlaceInput } from './order.ts';
export { DEFAULT_FILL, TERMINAL } from './order.ts';
export type { Side };
export interface EngineOptions {
  clock: FakeClock;
  accounting: Accounting;
  multiplier(symbol: string): string;
  fill?: Partial<FillConfig>;
}

export class Engine<X> {
  readonly orders: EngineOrder<X>[] = [];
  readonly fills: EngineFill[] = [];
  readonly prices = new Map<string, string>();
  readonly accounts = new Map<string, AccountBook>();
  /** 'change' fires after every order, fill or price change (and brokers emit it for their own state). */
  readonly events = new EventEmitter();
  fill: FillConfig;
  private readonly byId = new Map<string, EngineOrder<X>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly options: EngineOptions;
  private seq = 0;
  private pendingRejects = 0;

  constructor(options: EngineOptions) {
    this.options = options;
    this.fill = { ...DEFAULT_FILL, ...options.fill };
    this.events.setMaxListeners(0);
  }

  addAccount(id: string, cash: string): AccountBook {
    const account = newAccount(id, cash);
    this.accounts.set(id, account);
    return account;
  }

  account(id: string): AccountBook {
    const account = this.accounts.get(id);
    if (!account) throw new Error(`unknown account ${id}`);
    return account;
  }

  get(id: string): EngineOrder<X> | undefined {
    return this.byId.get(id);
  }

  ordersByClientId(clientOrderId: string): EngineOrder<X>[] {
    return this.orders.filter((o) => o.clientOrderId === clientOrderId);
  }

  mark(symbol: string): string | null {
    return this.prices.get(symbol) ?? null;
  }

  notify(): void {
    this.events.emit('change');
  }

  /** Stores the order without filling it: render the acknowledgement first, then call process(). */
  place(input: PlaceInput<X>): EngineOrder<X> {
    const at = this.options.clock.stamp();
    this.seq += 1;
    const order = newOrder(input, this.seq, at);
    this.orders.push(order);
    this.byId.set(order.id, order);
    this.notify();
    return order;
  }

  /** Starts the order's life: an armed asynchronous rejection, or fills per the fill policy. */
  process(order: EngineOrder<X>): void {
    if (order.status !== 'working' && order.status !== 'held') return;
    if (this.pendingRejects > 0) {
      this.pendingRejects -= 1;
      this.reject(order, 'rejected by the fake (rejectNextAccepted)');
      return;
    }
    this.evaluate(order, 'activate');
  }

  rejectNextAccepted(count = 1): void {
    this.pendingRejects += count;
  }

  reject(order: EngineOrder<X>, reason: string): void {
    if (TERMINAL.has(order.status)) return;
    order.rejectReason = reason;
    this.finish(order, 'rejected');
    for (const child of this.children(order)) this.finish(child, 'cancelled');
  }

  /** A read of the order by the client. */
  poll(order: EngineOrder<X>): void {
    order.polls += 1;
    this.evaluate(order, 'poll');
  }

  setPrice(symbol: string, price: string): void {
    this.prices.set(symbol, price);
    const working = this.orders.filter((o) => o.symbol === symbol && o.status === 'working');
    for (const order of working) this.evaluate(order, 'price');
    this.notify();
  }

  configureFills(fill: Partial<FillConfig>): FillConfig {
    this.fill = { ...this.fill, ...fill };
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const order of this.orders.filter((o) => o.status === 'working')) this.evaluate(order, 'activate');
    return this.fill;
  }

  /** A fill now, whatever the policy: `qty` defaults to the next step, `price` to the mark. */
  fillManually(order: EngineOrder<X>, qty?: string, price?: string): EngineFill {
    if (order.status !== 'working') throw new Error(`order ${order.id} is ${order.status}, not working`);
    return this.step(order, qty, price);
  }

  /**
   * 'family': the order's waiting legs and its OCO siblings go too. 'group': every open order of its bracket
   * (Alpaca: "cancelling one order in the group cancels the rest"). False when the order is already final.
   */
  cancel(order: EngineOrder<X>, cascade: 'family' | 'group' = 'family'): boolean {
    if (TERMINAL.has(order.status)) return false;
    this.finish(order, 'cancelled');
    const related =
      cascade === 'group' && order.groupId
        ? this.orders.filter((o) => o.groupId === order.groupId)
        : [...this.children(order), ...this.siblings(order)];
    for (const other of related) if (!TERMINAL.has(other.status)) this.finish(other, 'cancelled');
    return true;
  }

  /** In-place change (IBKR modify, Tradovate modifyorder). */
  modify(
    order: EngineOrder<X>,
    changes: { qty?: string; limitPrice?: string | null; stopPrice?: string | null },
  ): void {
    if (changes.qty !== undefined) order.qty = changes.qty;
    if (changes.limitPrice !== undefined) order.limitPrice = changes.limitPrice;
    if (changes.stopPrice !== undefined) order.stopPrice = changes.stopPrice;
    order.updatedAt = this.options.clock.stamp();
    this.notify();
    this.evaluate(order, 'price');
  }

  /** Alpaca PATCH: the old order ends 'replaced'; a new order (new id) takes its place and its legs. Not processed. */
  replace(old: EngineOrder<X>, input: PlaceInput<X>): EngineOrder<X> {
    const wasHeld = old.status === 'held';
    old.replacedAt = this.options.clock.stamp();
    this.finish(old, 'replaced');
    const next = this.place({ ...input, held: wasHeld });
    for (const child of this.orders.filter((o) => o.parentId === old.id)) child.parentId = next.id;
    return next; // the caller renders the acknowledgement, then calls process(next)
  }

  children(order: EngineOrder<X>): EngineOrder<X>[] {
    return this.orders.filter((o) => o.parentId === order.id && !TERMINAL.has(o.status));
  }

  openOrders(account: string): EngineOrder<X>[] {
    return this.orders.filter((o) => o.account === account && !TERMINAL.has(o.status));
  }

  reset(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.orders.length = 0;
    this.fills.length = 0;
    this.byId.clear();
    this.prices.clear();
    this.accounts.clear();
    this.pendingRejects = 0;
    this.fill = { ...DEFAULT_FILL, ...this.options.fill };
    this.notify();
  }

  close(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private siblings(order: EngineOrder<X>): EngineOrder<X>[] {
    if (!order.ocoGroup) return [];
    return this.orders.filter((o) => o.ocoGroup === order.ocoGroup && o.id !== order.id && !TERMINAL.has(o.status));
  }

  private evaluate(order: EngineOrder<X>, reason: 'activate' | 'price' | 'poll' | 'timer'): void {
    if (order.status !== 'working') return;
    const { mode } = this.fill;
    if (mode === 'immediate') {
      while (order.status === 'working' && this.fillable(order)) this.step(order);
      return;
    }
    if (mode === 'delay') {
      if (reason === 'timer' && this.fillable(order)) this.step(order);
      if ((reason === 'timer' || reason === 'activate') && order.status === 'working') this.schedule(order);
      return;
    }
    if (mode === 'polls' && reason === 'poll') {
      order.pollsSinceStep += 1;
      if (order.pollsSinceStep >= this.fill.polls && this.fillable(order)) {
        order.pollsSinceStep = 0;
        this.step(order);
      }
      return;
    }
    this.fillable(order); // other modes and reasons: only arm stops whose trigger the mark has touched
  }

  private schedule(order: EngineOrder<X>): void {
    const existing = this.timers.get(order.id);
    if (existing) clearTimeout(existing);
    const timer = setTimeout(() => {
      this.timers.delete(order.id);
      this.evaluate(order, 'timer');
    }, this.fill.delayMs);
    timer.unref();
    this.timers.set(order.id, timer);
  }

  private fillable(order: EngineOrder<X>): boolean {
    const mark = this.mark(order.symbol);
    return mark !== null && marketable(order, mark);
  }

  private step(order: EngineOrder<X>, qtyOverride?: string, priceOverride?: string): EngineFill {
    const remaining = sub(order.qty, order.filledQty);
    const qty = qtyOverride !== undefined ? min(qtyOverride, remaining) : stepQuantity(order, this.fill.steps);
    const price = priceOverride ?? this.mark(order.symbol) ?? order.limitPrice ?? order.stopPrice;
    if (price === null) throw new Error(`no price to fill ${order.symbol}: call setPrice first`);
    if (!isPositive(qty)) throw new Error(`nothing left to fill on order ${order.id}`);
    const at = this.options.clock.stamp();
    const fill: EngineFill = {
      id: `${order.id}-f${order.stepsDone + 1}`,
      seq: this.fills.length + 1,
      orderId: order.id,
      account: order.account,
      symbol: order.symbol,
      side: order.side,
      qty,
      price,
      at,
    };
    this.fills.push(fill);
    const before = big(order.filledQty);
    order.avgFillPrice =
      order.avgFillPrice === null
        ? price
        : div(add(before.times(order.avgFillPrice), big(qty).times(price)), before.plus(qty));
    order.filledQty = add(order.filledQty, qty);
    order.stepsDone += 1;
    order.updatedAt = at;
    const { accounting, multiplier } = this.options;
    applyFill(this.account(order.account), fill, multiplier(order.symbol), accounting);
    for (const sibling of this.siblings(order)) this.finish(sibling, 'cancelled');
    if (cmp(order.filledQty, order.qty) >= 0) {
      order.filledAt = at;
      this.finish(order, 'filled', at);
      for (const child of this.orders.filter((o) => o.parentId === order.id && o.status === 'held')) {
        child.status = 'working';
        child.updatedAt = at;
        this.evaluate(child, 'activate');
      }
    }
    this.notify();
    return fill;
  }

  private finish(order: EngineOrder<X>, status: EngineStatus, at = this.options.clock.stamp()): void {
    order.status = status;
    order.updatedAt = at;
    if (status === 'cancelled') order.cancelledAt = at;
    if (status === 'rejected') order.rejectedAt = at;
    const timer = this.timers.get(order.id);
    if (timer) clearTimeout(timer);
    this.timers.delete(order.id);
    this.notify();
  }
}
