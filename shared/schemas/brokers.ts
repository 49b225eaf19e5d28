import { z } from 'zod';
import { BROKER_ENVIRONMENTS, BROKERS, CONNECTION_STATUSES } from '../enums.ts';
import { paginationInput } from '../pagination.ts';
import { idSchema, requiredText } from './common.ts';

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
