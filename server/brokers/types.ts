/**
 * The one interface every broker adapter implements (SPEC §6), with normalized types: decimals are exact strings,
 * statuses use the common vocabulary of BROKERS.md §4, position quantities are signed (negative = short).
 * Errors are the three of ./errors.ts only. Every call takes an optional AbortSignal, which the resilience layer uses
 * to really cancel an HTTP call that timed out.
 */
import type { Broker, BrokerEnvironment } from '#shared/enums.ts';
import type { Pacer } from './pacing.ts';

/** An exact decimal as a string, e.g. "12.5" or "-3". Never a JS number. */
export type Decimal = string;

export const COMMON_ORDER_STATUSES = [
  'pending',
  'submitted',
  'accepted',
  'partially_filled',
  'filled',
  'cancelled',
  'rejected',
  'expired',
] as const;
export type CommonOrderStatus = (typeof COMMON_ORDER_STATUSES)[number];

export type OrderSide = 'buy' | 'sell';
export type OrderKind = 'market' | 'limit' | 'stop' | 'stop_limit';
export type TimeInForce = 'day' | 'gtc' | 'ioc' | 'fok' | 'opg' | 'cls';

export interface OrderRequest {
  /** Our idempotency key, `fp-<order id>`: a retried submit finds the order by it instead of placing a second one. */
  clientOrderId: string;
  /** The broker's symbol (already mapped from the TradingView ticker). */
  symbol: string;
  side: OrderSide;
  quantity: Decimal;
  orderType: OrderKind;
  timeInForce: TimeInForce;
  limitPrice?: Decimal;
  stopPrice?: Decimal;
  /** With stopLoss: a bracket (entry + two exits). Alone: an OTO/OSO with one exit. */
  takeProfit?: { limitPrice: Decimal };
  stopLoss?: { stopPrice: Decimal; limitPrice?: Decimal };
}

export interface BrokerFill {
  /** Unique per order at the broker; synthesized deterministically where the broker reports only cumulative fills. */
  brokerFillId: string;
  quantity: Decimal;
  price: Decimal;
  commission?: Decimal;
  filledAt: Date;
}

export interface BrokerOrder {
  brokerOrderId: string;
  clientOrderId: string | null;
  symbol: string;
  side: OrderSide;
  quantity: Decimal;
  orderType: OrderKind;
  status: CommonOrderStatus;
  /** The broker's own status word, for support and diagnostics. */
  brokerStatus: string;
  filledQty: Decimal;
  avgFillPrice: Decimal | null;
  limitPrice: Decimal | null;
  stopPrice: Decimal | null;
  submittedAt: Date | null;
  updatedAt: Date | null;
  /** Individual executions, where the broker reports them (Tradovate fills, IBKR trades). */
  fills?: BrokerFill[];
  /** Bracket/OSO exit legs, as orders of their own. */
  legs?: BrokerOrder[];
  /** Why the broker rejected or cancelled it, when it says. */
  reason?: string;
}

export interface BrokerPosition {
  symbol: string;
  /** Signed: negative is short. */
  quantity: Decimal;
  avgEntryPrice: Decimal;
  marketPrice: Decimal | null;
  unrealizedPnl: Decimal | null;
}

export interface BrokerAccount {
  accountId: string;
  currency: string;
  equity: Decimal;
  cash: Decimal;
  buyingPower: Decimal;
  /** The broker's account status word (e.g. Alpaca ACTIVE, Tradovate Active). */
  status: string;
  tradingBlocked: boolean;
}

export interface SessionStatus {
  ok: boolean;
  /** When the session or token expires, where the broker says (Tradovate expirationTime). */
  expiresAt: Date | null;
  /** Why it is not ok, in the broker's words. */
  reason?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface BrokerAdapter {
  readonly broker: Broker;
  getAccount(options?: CallOptions): Promise<BrokerAccount>;
  /**
   * Places the order. A duplicate client order id is not a rejection: the order already exists, and this returns it.
   */
  submitOrder(order: OrderRequest, options?: CallOptions): Promise<BrokerOrder>;
  /** The order placed with this client order id, or null when the broker has none. */
  getOrderByClientId(clientOrderId: string, options?: CallOptions): Promise<BrokerOrder | null>;
  /** The order with this broker id, or null when the broker does not know it. */
  getOrder(brokerOrderId: string, options?: CallOptions): Promise<BrokerOrder | null>;
  /** Requests cancellation; resolves once the broker accepted the request (the order may still fill meanwhile). */
  cancelOrder(brokerOrderId: string, options?: CallOptions): Promise<void>;
  getPositions(options?: CallOptions): Promise<BrokerPosition[]>;
  getOpenOrders(options?: CallOptions): Promise<BrokerOrder[]>;
  /** Whether the session works now; never throws BrokerAuthExpired (it answers ok: false instead). */
  checkSession(options?: CallOptions): Promise<SessionStatus>;
  /** Renews the session or token where the broker supports it (Tradovate renewal, IBKR tickle/reauthenticate). */
  renewSession(options?: CallOptions): Promise<SessionStatus>;
}

export type { AlpacaCredentials, IbkrCredentials, TradovateCredentials } from '#shared/schemas/brokers.ts';

export interface AdapterConfig<TCredentials> {
  /** The broker base URL for this environment, from env (tests point it at the fakes). */
  baseUrl: string;
  environment: BrokerEnvironment;
  credentials: TCredentials;
  /** Waits for the connection's rate budget before each HTTP call: `await pacer.take(bucket?)`. */
  pacer: Pacer;
}
