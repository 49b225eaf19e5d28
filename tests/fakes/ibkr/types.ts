/** IBKR fake: options, runtime configuration, session state and per-order fields. */
import type { Engine, FillConfig } from '../common/engine.ts';

export interface IbkrContract {
  conid: number;
  /** Ticker, also the engine's symbol (setPrice('AAPL'), setPrice('ES')). */
  symbol: string;
  secType: 'STK' | 'FUT';
  exchange: string;
  listingExchange: string;
  companyName: string;
  multiplier: string;
  /** Futures: yyyymmdd, local symbol and underlying. */
  expiry?: string;
  localSymbol?: string;
  underlyingConid?: number;
}

export interface IbkrExt {
  numericId: number;
  conid: number;
  /** The ticket's orderType code (MKT, LMT, STP, STOP_LIMIT, …). */
  orderType: string;
  tif: string;
  cOID: string | null;
  /** For a bracket child: the parent's cOID; for the engine link see EngineOrder.parentId. */
  parentCOID: string | null;
  outsideRTH: boolean;
  acctId: string;
  /** The ticket's price and auxPrice as sent (STP carries its trigger in `price`). */
  price: string | null;
  auxPrice: string | null;
  /** Live orders cover the session they were placed in only. */
  session: number;
}

export interface IbkrQuestion {
  message: string[];
  messageIds: string[];
}

export interface IbkrConfig {
  /** GET /iserver/accounts must come before orders, modify, cancel and live orders (400 {"error"} otherwise). */
  requireAccountsCall: boolean;
  /** GET /portfolio/accounts must come before positions, summary and ledger. */
  requirePortfolioAccountsCall: boolean;
  /** The first live-orders call of a session answers an empty list while "subscribing". */
  firstLiveOrdersEmpty: boolean;
  /** Enforce the pacing table (1 per 5 s on live orders, trades, portfolio accounts; tickle 1/s; sso/validate 1/min; 10 req/s overall); 429 then a penalty box. */
  pacing: boolean;
  penaltyBoxMs: number;
  /** [U] Idle time before the session ends (any request, tickle included, counts as activity); null: never. */
  idleTimeoutMs: number | null;
  /** [U] HTTP status of {"error"} answers to order submission (200 or 400). */
  orderErrorStatus: 200 | 400;
  /** [U] Acknowledgement as a list (ibind) or a bare object (the docs). */
  ackShape: 'array' | 'object';
  /** /portfolio/{acct}/positions/{page} serves a snapshot refreshed only by …/positions/invalidate (or the first read). */
  cachePositions: boolean;
  /** Order-reply questions every new order must confirm, in order (suppressed message ids are skipped). */
  questions: IbkrQuestion[];
}

export const DEFAULT_IBKR_CONFIG: IbkrConfig = {
  requireAccountsCall: true,
  requirePortfolioAccountsCall: true,
  firstLiveOrdersEmpty: true,
  pacing: false,
  penaltyBoxMs: 10 * 60_000,
  idleTimeoutMs: 6 * 60_000,
  orderErrorStatus: 200,
  ackShape: 'array',
  cachePositions: true,
  questions: [],
};

export interface FakeIbkrOptions {
  port?: number;
  host?: string;
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Default: one paper account DU1234567 with cash 100000. */
  accounts?: Array<{ id: string; cash?: string }>;
  /** Default AAPL, MSFT, SPY, TSLA and the ES future (conid 495512563). */
  contracts?: Array<IbkrContract & { price: string | number }>;
  /** When set, secdef/search lists unknown stock symbols at this price (demos). */
  defaultPrice?: string | null;
  /** The browser login has happened (brokerage session authenticated) at start. Default false. */
  authenticated?: boolean;
  fill?: Partial<FillConfig>;
  config?: Partial<IbkrConfig>;
}

export interface Ticket {
  contract: IbkrContract;
  orderType: string;
  side: 'BUY' | 'SELL';
  quantity: string;
  tif: string;
  price: string | null;
  auxPrice: string | null;
  acctId: string;
  cOID: string | null;
  parentId: string | null;
  isSingleGroup: boolean;
  outsideRTH: boolean;
}

export interface PendingReply {
  id: string;
  accountId: string;
  tickets: Ticket[];
  remaining: IbkrQuestion[];
}

export interface IbkrSession {
  /** The browser (SSO) login is alive; without it every call but auth status answers 401. */
  ssoLoggedIn: boolean;
  /** The brokerage (iserver) session is authenticated. */
  authenticated: boolean;
  competing: boolean;
  connected: boolean;
  /** Counts logins; orders remember theirs (live orders show the current session's only). */
  number: number;
  accountsFetched: boolean;
  portfolioAccountsFetched: boolean;
  liveOrdersCalls: number;
  lastActivityMs: number;
  suppressed: Set<string>;
}

export interface IbkrState {
  engine: Engine<IbkrExt>;
  config: IbkrConfig;
  accounts: string[];
  contracts: IbkrContract[];
  session: IbkrSession;
  pendingReplies: Map<string, PendingReply>;
  /** Orders a client declined with {"confirmed":false}. */
  discarded: Ticket[];
  positionCache: Map<string, Array<Record<string, unknown>>>;
  lastCall: Map<string, number>;
  penaltyUntilMs: number;
  secondWindow: { startMs: number; count: number };
  forcedRejects: Array<{ error: string; status: number }>;
  defaultPrice: string | null;
  nextOrderId(): number;
}
