/** Tradovate fake: options, runtime configuration, stored entities and per-order fields. */
import type { Engine, FillConfig } from '../common/engine.ts';

export interface TradovateExt {
  numericId: number;
  accountId: number;
  contractId: number;
  action: 'Buy' | 'Sell';
  orderType: string;
  timeInForce: string;
  clOrdId: string | null;
  isAutomated: boolean;
  /** Order entity links (BROKERS.md §2.4). */
  ocoId: number | null;
  parentId: number | null;
  linkedId: number | null;
  /** The New command, and the Cancel command once there is one (ExecutionReport.commandId). */
  commandId: number;
  cancelCommandId: number | null;
}

export interface TradovateConfig {
  /** Access-token lifetime (partner pages say 80 or 90 min). */
  tokenLifetimeMs: number;
  /** Rolling-hour endpoint limits answered with p-tickets (accesstokenrequest 5 failures, renew 15 calls, me 10 failures). */
  endpointLimits: boolean;
  /** [U] Reject a reused clOrdId with {"failureReason":"UnknownReason","failureText":"duplicate clOrdId"}. */
  rejectDuplicateClOrdId: boolean;
  /** Live behaviour: a missing or changed deviceId makes order calls answer 401 "Access is denied". */
  enforceDeviceId: boolean;
  /** A new accesstokenrequest ends the user's earlier sessions (their tokens answer 401). */
  singleSession: boolean;
  /** [U] placeorder without isAutomated:true is refused (the real rule is a policy, not a check). */
  requireIsAutomated: boolean;
  /** [U] ordStatus of OSO brackets waiting for their entry. */
  heldBracketStatus: 'Suspended' | 'PendingNew' | 'Working';
  /** [U] ordStatus of a fully filled order, and of a cancelled one. */
  filledStatus: 'Filled' | 'Completed';
  canceledStatus: 'Canceled' | 'Completed';
  /** [U] Flat rows (netPos 0) stay in /position/list. */
  keepFlatPositions: boolean;
  /** [U] timeInForce when omitted. */
  defaultTimeInForce: string;
  /** Net position limit per contract; null: none. Beyond it: failureReason MaxPosLimitReached. */
  maxPosition: number | null;
  /** User-level request limit (all requests, fixed window); beyond it 429 with an empty body. null: none. */
  rateLimit: { max: number; windowMs: number } | null;
}

export const DEFAULT_TRADOVATE_CONFIG: TradovateConfig = {
  tokenLifetimeMs: 90 * 60_000,
  endpointLimits: true,
  rejectDuplicateClOrdId: false,
  enforceDeviceId: false,
  singleSession: false,
  requireIsAutomated: false,
  heldBracketStatus: 'Suspended',
  filledStatus: 'Filled',
  canceledStatus: 'Canceled',
  keepFlatPositions: true,
  defaultTimeInForce: 'Day',
  maxPosition: null,
  rateLimit: null,
};

export interface TradovateUserOptions {
  name: string;
  password: string;
  /** API key id and secret; the request may send cid as a number or a string. */
  cid: number | string;
  sec: string;
  userId?: number;
  userStatus?: 'Active' | 'Closed' | 'Initiated' | 'TemporaryLocked' | 'UnconfirmedEmail';
  accounts?: Array<{ id: number; name: string; cash?: string }>;
}

export interface TradovateContractOptions {
  name: string;
  price: string | number;
  id?: number;
  /** Dollars per point, e.g. ES 50, MES 5. */
  multiplier?: string;
  /** Initial margin per contract (cash-balance snapshot). */
  margin?: string;
}

export interface FakeTradovateOptions {
  port?: number;
  host?: string;
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Default: name "fakeuser", password "fake-password", cid 8, sec "fake-sec", account 700001 "DEMO700001", cash 50000. */
  users?: TradovateUserOptions[];
  /** Default ESZ5 and MESZ5 at 5000, NQZ5 and MNQZ5 at 20000. */
  contracts?: TradovateContractOptions[];
  /** When set, an unknown contract name is listed on first use at this price (demos). */
  defaultPrice?: string | null;
  fill?: Partial<FillConfig>;
  config?: Partial<TradovateConfig>;
}

export interface TvUser {
  id: number;
  name: string;
  password: string;
  cid: string;
  sec: string;
  userStatus: string;
  accounts: Array<{ id: number; name: string }>;
  /** The first deviceId seen (what enforceDeviceId compares against). */
  deviceId: string | null;
}

export interface TvContract {
  id: number;
  name: string;
  contractMaturityId: number;
  multiplier: string;
  margin: string;
}

export interface TvToken {
  accessToken: string;
  mdAccessToken: string;
  userId: number;
  expiresAtMs: number;
  deviceId: string | null;
  revoked: boolean;
}

export interface TvOrderVersion {
  id: number;
  orderId: number;
  orderQty: number;
  orderType: string;
  price?: number;
  stopPrice?: number;
  maxShow?: number;
  pegDifference?: number;
  timeInForce: string;
  expireTime?: string;
  text?: string;
}

export interface TvCommand {
  id: number;
  orderId: number;
  timestamp: string;
  clOrdId?: string;
  commandType: 'New' | 'Modify' | 'Cancel';
  commandStatus: string;
  isAutomated?: boolean;
  activationTime?: string;
  customTag50?: string;
}

export interface PTicket {
  ticket: string;
  endpoint: string;
  readyAtMs: number;
  seconds: number;
  captcha: boolean;
}

export interface TradovateState {
  engine: Engine<TradovateExt>;
  config: TradovateConfig;
  users: TvUser[];
  contracts: TvContract[];
  tokens: TvToken[];
  orderVersions: TvOrderVersion[];
  commands: TvCommand[];
  /** Issued p-tickets, the forced ones still to issue, and per-endpoint call/failure times (rolling hour). */
  pTickets: Map<string, PTicket>;
  forcedPTickets: Array<{ endpoint: string | null; seconds: number; captcha: boolean }>;
  limitEvents: Map<string, number[]>;
  captchaUntilMs: number;
  rateWindow: { startMs: number; count: number };
  forcedRejects: Array<{ failureReason: string; failureText: string }>;
  defaultPrice: string | null;
  nextId(): number;
}
