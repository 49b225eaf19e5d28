/** Alpaca fake: options, runtime configuration and the per-order fields the engine carries for it. */
import type { Engine, FillConfig } from '../common/engine.ts';

export type AlpacaType = 'market' | 'limit' | 'stop' | 'stop_limit' | 'trailing_stop';

export interface AlpacaExt {
  clientOrderId: string;
  type: AlpacaType;
  timeInForce: string;
  /** '' (simple, as Alpaca renders it), 'simple', 'bracket', 'oco' or 'oto'. */
  orderClass: string;
  notional: string | null;
  extendedHours: boolean;
  positionIntent: string | null;
  trailPrice: string | null;
  trailPercent: string | null;
  assetId: string;
  assetClass: 'us_equity' | 'crypto';
  replacedBy: string | null;
  replaces: string | null;
}

export interface AlpacaConfig {
  /** Account multiplier ("1" cash, "2" Reg-T margin, "4" day-trading): buying power = multiplier × equity − exposure. */
  multiplier: '1' | '2' | '4';
  shortingEnabled: boolean;
  /** Every order answers 403 "account is not authorized to trade". */
  tradingBlocked: boolean;
  /** Requests per minute per key before 429 (the real limit is 200); null: unlimited and no X-Ratelimit headers. */
  rateLimitPerMinute: number | null;
  /** Status in the POST /v2/orders answer, before any fill. */
  submitStatus: 'accepted' | 'pending_new' | 'new';
  /** 128 today; 48 in the legacy docs. */
  clientOrderIdMaxLength: number;
  /** DELETE /v2/positions/{symbol}: the closing Order (current docs) or the Position (older docs). */
  closePositionReturns: 'order' | 'position';
  /** A known key id with a wrong secret: 401 {code:40110000} or 403 {"message":"forbidden."} (both are seen). */
  badSecretStatus: 401 | 403;
  /** [U] codes of the 404 and 429 bodies. */
  notFoundCode: number;
  rateLimitCode: number;
}

export const DEFAULT_ALPACA_CONFIG: AlpacaConfig = {
  multiplier: '2',
  shortingEnabled: true,
  tradingBlocked: false,
  rateLimitPerMinute: null,
  submitStatus: 'accepted',
  clientOrderIdMaxLength: 128,
  closePositionReturns: 'order',
  badSecretStatus: 401,
  notFoundCode: 40410000,
  rateLimitCode: 42910000,
};

export interface AlpacaAccountOptions {
  keyId: string;
  secret: string;
  /** OAuth bearer tokens that act for this account. */
  bearerTokens?: string[];
  accountNumber?: string;
  cash?: string;
}

export interface FakeAlpacaOptions {
  port?: number;
  host?: string;
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Default: one account, key id "PKFAKEKEY0000000001", secret "fake-secret", cash 100000. */
  accounts?: AlpacaAccountOptions[];
  /** Marks per symbol. Default AAPL 150, MSFT 400, SPY 500, TSLA 250, BTC/USD 60000, ETH/USD 3000. */
  prices?: Record<string, string | number>;
  /** When set, any unknown symbol is tradable at this mark (demos); when null, unknown symbols get 422. */
  defaultPrice?: string | null;
  fill?: Partial<FillConfig>;
  config?: Partial<AlpacaConfig>;
}

export interface AlpacaAccount {
  id: string;
  accountNumber: string;
  keyId: string;
  secret: string;
  bearerTokens: string[];
  createdAt: number;
}

export interface ForcedReject {
  status: number;
  body: unknown;
}

export interface AlpacaState {
  engine: Engine<AlpacaExt>;
  accounts: AlpacaAccount[];
  config: AlpacaConfig;
  assetIds: Map<string, string>;
  /** The first mark each symbol had: lastday_price / change_today. */
  lastdayPrices: Map<string, string>;
  defaultPrice: string | null;
  forcedRejects: ForcedReject[];
  rateWindows: Map<string, { startMs: number; count: number }>;
}
