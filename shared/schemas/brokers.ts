import { z } from 'zod';
import {
  BROKER_ENVIRONMENTS,
  BROKERS,
  CONNECTION_STATUSES,
  ORDER_INTENTS,
  ORDER_SIDES,
  ORDER_STATUSES,
  ORDER_TYPES,
  RECONCILIATION_STATUSES,
  TIMES_IN_FORCE,
} from '../enums.ts';
import { paginationInput } from '../pagination.ts';
import { dateRange, idSchema, requiredText } from './common.ts';

// Keys, secrets and passwords are opaque: printable ASCII without spaces, never trimmed or rewritten.
const opaque = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(max)
    .regex(/^[\x21-\x7E]+$/, 'must be printable characters without spaces');

export const alpacaCredentials = z.strictObject({
  keyId: opaque(128),
  secretKey: opaque(256),
});

/**
 * Tradovate's accesstokenrequest fields (BROKERS.md). `cid` is a number in the examples and a string in the
 * swagger; both are accepted. `deviceId` must stay stable per connection, so the server generates one when it is
 * left out and keeps the stored one when credentials are replaced without it.
 */
export const tradovateCredentials = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(128),
  password: z.string().min(1, 'must not be empty').max(256),
  appId: z.string().trim().min(1, 'must not be empty').max(128),
  appVersion: z.string().trim().min(1, 'must not be empty').max(32),
  cid: z.union([z.number().int().positive().max(Number.MAX_SAFE_INTEGER), opaque(64)]),
  sec: opaque(256),
  deviceId: opaque(64).optional(),
});

/** The Client Portal gateway holds the IBKR session; all a connection needs is the account id (e.g. DU1234567). */
export const ibkrCredentials = z.strictObject({
  accountId: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9]{1,32}$/, 'must be 1-32 letters and digits'),
});

export type AlpacaCredentials = z.infer<typeof alpacaCredentials>;
export type TradovateCredentials = z.infer<typeof tradovateCredentials>;
export type IbkrCredentials = z.infer<typeof ibkrCredentials>;
export type BrokerCredentials = AlpacaCredentials | TradovateCredentials | IbkrCredentials;

export const credentialSchemas = {
  alpaca: alpacaCredentials,
  tradovate: tradovateCredentials,
  ibkr: ibkrCredentials,
} as const;

const connectionName = requiredText(100);
const environment = z.enum(BROKER_ENVIRONMENTS).default('paper');

export const connectInput = z.discriminatedUnion('broker', [
  z.strictObject({ broker: z.literal('alpaca'), name: connectionName, environment, credentials: alpacaCredentials }),
  z.strictObject({
    broker: z.literal('tradovate'),
    name: connectionName,
    environment,
    credentials: tradovateCredentials,
  }),
  z.strictObject({ broker: z.literal('ibkr'), name: connectionName, environment, credentials: ibkrCredentials }),
]);
export type ConnectInput = z.infer<typeof connectInput>;

export const connectionIdInput = z.strictObject({ id: idSchema });

/** Replacing credentials must keep the connection's broker; the server checks they fit it. */
export const updateConnectionInput = z
  .strictObject({
    id: idSchema,
    name: connectionName.optional(),
    credentials: z.union([alpacaCredentials, tradovateCredentials, ibkrCredentials]).optional(),
  })
  .refine((input) => input.name !== undefined || input.credentials !== undefined, {
    message: 'give a new name or new credentials',
  });
export type UpdateConnectionInput = z.infer<typeof updateConnectionInput>;

export const getConnectionsInput = paginationInput.strict().default({ limit: 25 });

/** What the API shows of a connection: never the credentials, at most a masked hint of which key it uses. */
export const connectionView = z.object({
  id: z.number(),
  broker: z.enum(BROKERS),
  name: z.string(),
  environment: z.enum(BROKER_ENVIRONMENTS),
  accountId: z.string().nullable(),
  status: z.enum(CONNECTION_STATUSES),
  statusMessage: z.string().nullable(),
  /** e.g. `…WXYZ`: the last characters of the Alpaca key id or Tradovate user name. */
  credentialHint: z.string().nullable(),
  lastCheckedAt: z.date().nullable(),
  sessionExpiresAt: z.date().nullable(),
  createdAt: z.date(),
});
export type ConnectionView = z.infer<typeof connectionView>;

export const connectionPage = z.object({ items: z.array(connectionView), nextCursor: z.number().nullable() });

/** An account summary as the broker reports it; decimals are exact strings. */
export const brokerAccountView = z.object({
  accountId: z.string(),
  currency: z.string(),
  equity: z.string(),
  cash: z.string(),
  buyingPower: z.string(),
  status: z.string(),
  tradingBlocked: z.boolean(),
});

export const testConnectionResult = z.object({ status: z.literal('connected'), account: brokerAccountView });

export const getPositionsInput = z.strictObject({ connectionId: idSchema });

/** A live broker position: `quantity` is signed (negative = short). */
export const brokerPositionView = z.object({
  symbol: z.string(),
  quantity: z.string(),
  avgEntryPrice: z.string(),
  marketPrice: z.string().nullable(),
  unrealizedPnl: z.string().nullable(),
});

/**
 * brokers.getOrders: the caller's orders, newest first. `symbol` matches the TradingView or the broker symbol;
 * `from`/`to` bound when the order was written (from ≤ t < to).
 */
export const getOrdersInput = paginationInput
  .extend({
    strategyId: idSchema.optional(),
    connectionId: idSchema.optional(),
    status: z.enum(ORDER_STATUSES).optional(),
    symbol: z.string().trim().min(1).max(64).optional(),
    ...dateRange.shape,
  })
  .strict()
  .refine((range) => !range.from || !range.to || range.from < range.to, {
    message: '`from` must be earlier than `to`',
    path: ['to'],
  })
  .default({ limit: 25 });
export type GetOrdersInput = z.infer<typeof getOrdersInput>;

export const orderIdInput = z.strictObject({ id: idSchema });

/** An order as the trader sees it: prices and quantities as exact decimal strings, nothing of the connection. */
export const brokerOrderView = z.object({
  id: z.number(),
  strategyId: z.number(),
  brokerConnectionId: z.number(),
  webhookLogId: z.number().nullable(),
  tradeId: z.number().nullable(),
  /** A reversal's opening leg points at its closing leg. */
  parentOrderId: z.number().nullable(),
  clientOrderId: z.string().nullable(),
  brokerOrderId: z.string().nullable(),
  symbol: z.string(),
  brokerSymbol: z.string(),
  side: z.enum(ORDER_SIDES),
  intent: z.enum(ORDER_INTENTS),
  orderType: z.enum(ORDER_TYPES),
  tif: z.enum(TIMES_IN_FORCE),
  quantity: z.string(),
  limitPrice: z.string().nullable(),
  stopPrice: z.string().nullable(),
  takeProfitPrice: z.string().nullable(),
  stopLossPrice: z.string().nullable(),
  status: z.enum(ORDER_STATUSES),
  brokerStatus: z.string().nullable(),
  filledQty: z.string(),
  avgFillPrice: z.string().nullable(),
  commission: z.string(),
  attempts: z.number(),
  lastError: z.string().nullable(),
  submittedAt: z.date().nullable(),
  filledAt: z.date().nullable(),
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type BrokerOrderView = z.infer<typeof brokerOrderView>;

export const brokerOrderPage = z.object({ items: z.array(brokerOrderView), nextCursor: z.number().nullable() });

/**
 * What brokers.cancelOrder did: `cancelled` (it had not been sent; nothing reached the broker), `cancel-requested`
 * (the broker was asked; the order turns `cancelled` once its status poll sees it, unless it filled first),
 * `being-submitted` (on its way to the broker right now: try again in a moment), `already-final`.
 */
export const CANCEL_OUTCOMES = ['cancelled', 'cancel-requested', 'being-submitted', 'already-final'] as const;
export const cancelOrderResult = z.object({
  id: z.number(),
  outcome: z.enum(CANCEL_OUTCOMES),
  /** The order's status after the call. */
  status: z.enum(ORDER_STATUSES),
});
export type CancelOrderResult = z.infer<typeof cancelOrderResult>;

/** brokers.reconcile: runs a reconciliation of one of the caller's connections now, in the worker. */
export const reconcileInput = z.strictObject({ connectionId: idSchema });
/** `queued`: the run is on its way (a request while one is still waiting joins it); its result lands in the runs. */
export const reconcileResult = z.object({ connectionId: z.number(), queued: z.literal(true) });

/**
 * One symbol on which the broker and Fillpath disagree. Quantities are signed (negative = short): `broker` is what
 * the broker holds, `local` the sum of the connection's strategies' positions, `strategies` who holds that sum.
 * `orderIds` are Fillpath's orders on the symbol that were working or changed during the run; `brokerOrderIds` are
 * orders working at the broker that Fillpath did not place.
 */
export const reconciliationDiscrepancyView = z.object({
  symbol: z.string(),
  broker: z.string(),
  local: z.string(),
  note: z.string().nullable(),
  strategies: z.array(z.object({ strategyId: z.number(), quantity: z.string() })),
  orderIds: z.array(z.number()),
  brokerOrderIds: z.array(z.string()),
});
export type ReconciliationDiscrepancyView = z.infer<typeof reconciliationDiscrepancyView>;

/** A run: `status` is null while it is in progress; `error` says why a run could not compare (broker down…). */
export const reconciliationRunView = z.object({
  id: z.number(),
  brokerConnectionId: z.number(),
  startedAt: z.date(),
  finishedAt: z.date().nullable(),
  status: z.enum(RECONCILIATION_STATUSES).nullable(),
  ordersUpdated: z.number(),
  error: z.string().nullable(),
  discrepancies: z.array(reconciliationDiscrepancyView),
});
export type ReconciliationRunView = z.infer<typeof reconciliationRunView>;

/** brokers.getReconciliationRuns: the caller's runs newest first, of one connection or of all of them. */
export const getReconciliationRunsInput = paginationInput
  .extend({ connectionId: idSchema.optional(), status: z.enum(RECONCILIATION_STATUSES).optional() })
  .strict()
  .default({ limit: 25 });
export type GetReconciliationRunsInput = z.infer<typeof getReconciliationRunsInput>;

export const reconciliationRunPage = z.object({
  items: z.array(reconciliationRunView),
  nextCursor: z.number().nullable(),
});

export const reconciliationRunIdInput = z.strictObject({ id: idSchema });

/** brokers.getReconciliationRun: a run with the orders its discrepancies name. */
export const reconciliationRunDetail = reconciliationRunView.extend({ orders: z.array(brokerOrderView) });
export type ReconciliationRunDetail = z.infer<typeof reconciliationRunDetail>;

/**
 * brokers.adoptBrokerPosition: makes Fillpath's books agree with the broker on one symbol of a connection by
 * setting one strategy's position to what the broker holds beyond the other strategies' positions. `strategyId`
 * names that strategy; without it, the one strategy holding the symbol (or the connection's only routed strategy)
 * takes it, and anything less clear is refused.
 */
export const adoptBrokerPositionInput = z.strictObject({
  connectionId: idSchema,
  symbol: z.string().trim().min(1).max(64),
  strategyId: idSchema.optional(),
});
export type AdoptBrokerPositionInput = z.infer<typeof adoptBrokerPositionInput>;

export const adoptBrokerPositionResult = z.object({
  connectionId: z.number(),
  strategyId: z.number(),
  symbol: z.string(),
  /** What the broker holds (signed). */
  brokerQuantity: z.string(),
  /** The strategy's position before and after (signed). */
  previousQuantity: z.string(),
  quantity: z.string(),
});
export type AdoptBrokerPositionResult = z.infer<typeof adoptBrokerPositionResult>;
