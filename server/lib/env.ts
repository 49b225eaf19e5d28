/**
 * The only reader of process.env. Every setting is validated once at start-up; a bad or missing value stops the
 * process with one line per problem (see loadEnv). A `.env` file beside package.json is read when present, and real
 * environment variables win over it.
 */
import { existsSync } from 'node:fs';
import { config as loadDotenv } from 'dotenv';
import { z } from 'zod';
import { projectPath } from './paths.ts';

const dotenvPath = projectPath('.env');
if (existsSync(dotenvPath)) loadDotenv({ path: dotenvPath, override: false, quiet: true });

const DEV_JWT_SECRET = 'dev-only-jwt-secret-change-me-0123456789abcdef';
// 32 zero bytes: usable in development and tests only; production must bring its own keys.
const DEV_ENCRYPTION_KEYS = 'dev:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

const mysqlUrl = z
  .string()
  .url()
  .refine((v) => /^mysql:\/\//.test(v), 'must start with mysql://');

const redisUrl = z
  .string()
  .url()
  .refine((v) => /^rediss?:\/\//.test(v), 'must start with redis:// or rediss://');

// One Redis URL, or with REDIS_CLUSTER a comma-separated list of seed nodes (one is enough; more survive a node down).
const redisUrls = z
  .string()
  .refine(
    (v) => v.split(',').every((part) => redisUrl.safeParse(part.trim()).success),
    'must be redis:// or rediss:// URLs, comma-separated',
  );

const httpUrl = z
  .string()
  .url()
  .refine((v) => /^https?:\/\//.test(v), 'must be an http(s) URL')
  .transform((v) => v.replace(/\/+$/, ''));

// Messages name an entry by its position, never by its text: a mistyped value may be a raw key.
const encryptionKeys = z.string().transform((value, ctx) => {
  const keys: { kid: string; key: Buffer }[] = [];
  const entries = value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  for (const [index, part] of entries.entries()) {
    const [kid, b64, extra] = part.split(':');
    const key = b64 ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
    if (!kid || !/^[A-Za-z0-9_-]{1,16}$/.test(kid) || extra !== undefined || key.length !== 32) {
      ctx.addIssue({ code: 'custom', message: `entry ${index + 1} must be kid:base64-of-32-bytes` });
      return z.NEVER;
    }
    if (keys.some((k) => k.kid === kid)) {
      ctx.addIssue({ code: 'custom', message: `entry ${index + 1} repeats key id "${kid}"` });
      return z.NEVER;
    }
    keys.push({ kid, key });
  }
  if (keys.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'needs at least one kid:base64-of-32-bytes key' });
    return z.NEVER;
  }
  return keys;
});

const commaList = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

const envObject = z.object({
  // Production unless said otherwise: a deploy that forgets NODE_ENV must not run on the development secrets.
  // `npm run dev` writes NODE_ENV=development into .env on first run; the test setup sets `test`.
  NODE_ENV: z.enum(['development', 'test', 'production']).default('production'),
  DATABASE_URL: mysqlUrl.default('mysql://root@127.0.0.1:3306/fillpath'),
  DATABASE_READ_URL: mysqlUrl.optional(),
  DB_POOL_SIZE: positiveInt.max(500).default(10),
  DB_QUEUE_LIMIT: z.coerce.number().int().min(1).default(500),
  REDIS_URL: redisUrls.default('redis://127.0.0.1:6379'),
  // Connect to a Redis Cluster (REDIS_URL then names its seed nodes) instead of a single primary: a sharded or
  // managed cluster endpoint answers MOVED redirections a single-node client cannot follow.
  REDIS_CLUSTER: bool.default(false),
  // Every Redis key starts with this; queues live under `<prefix>:{<queue>}` so Redis Cluster keeps a queue in one slot.
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,48}$/, 'letters, digits, _ and - only')
    .default('fillpath'),
  PORT: port.default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  WORKER_PORT: port.default(3001),
  PUBLIC_BASE_URL: httpUrl.default('http://localhost:3000'),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  ENCRYPTION_KEYS: encryptionKeys.optional(),
  CORS_ORIGINS: commaList.default([]),
  TRUST_PROXY: z.string().default('false'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: bool.optional(),
  // Append logs to this file instead of stdout (debugging, and the test suite's secret-leak check).
  LOG_FILE: z.string().min(1).optional(),
  SENTRY_DSN: z.string().url().optional(),
  // Bearer token Prometheus sends to GET /metrics. Unset: the api serves no /metrics, the worker serves it openly.
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  BODY_LIMIT_BYTES: positiveInt.default(1_048_576),
  REQUEST_TIMEOUT_MS: positiveInt.default(15_000),
  TRPC_MAX_BATCH_SIZE: positiveInt.max(100).default(10),
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(25_000),
  // After SIGTERM the api keeps serving this long with readiness already 503, so a load balancer stops routing to it
  // (it notices at its next probe) before the listener closes; 0 closes at once (development, tests).
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  ALPACA_PAPER_URL: httpUrl.default('https://paper-api.alpaca.markets'),
  ALPACA_LIVE_URL: httpUrl.default('https://api.alpaca.markets'),
  TRADOVATE_DEMO_URL: httpUrl.default('https://demo.tradovateapi.com/v1'),
  TRADOVATE_LIVE_URL: httpUrl.default('https://live.tradovateapi.com/v1'),
  IBKR_GATEWAY_URL: httpUrl.default('https://localhost:5000/v1/api'),
  DEDUP_WINDOW_S: positiveInt.max(86_400).default(10),
  RECONCILE_INTERVAL_S: positiveInt.min(5).default(60),
  // Session upkeep per connection. Alpaca keys do not expire: a periodic account read notices revoked keys.
  ALPACA_SESSION_INTERVAL_S: positiveInt.min(5).max(3_600).default(300),
  // Tradovate tokens are renewed 15 min before expiry by the check that falls inside that window: keep it well under.
  TRADOVATE_SESSION_INTERVAL_S: positiveInt.min(5).max(600).default(60),
  // The IBKR gateway drops a session idle for ~5 min: tickle (and read its auth status) well within that.
  IBKR_SESSION_INTERVAL_S: positiveInt.min(5).max(240).default(60),
  SLOW_QUERY_MS: positiveInt.default(200),
  DLQ_RETENTION_DAYS: positiveInt.default(30),
  // Reconciliation runs (one per connection per RECONCILE_INTERVAL_S) are deleted after this many days.
  RECONCILE_RUNS_RETENTION_DAYS: positiveInt.default(30),
  // webhook_logs.raw_body is set to NULL after this many days (the log row and its normalized payload stay).
  WEBHOOK_RAW_RETENTION_DAYS: positiveInt.default(30),
  // Lets notification channels target http:// URLs and private, loopback or link-local addresses (tests, local fakes).
  ALLOW_PRIVATE_NOTIFY_TARGETS: bool.default(false),
  // Base of the Telegram Bot API (`<base>/bot<token>/sendMessage`); tests point it at a local receiver.
  TELEGRAM_API_URL: httpUrl.default('https://api.telegram.org'),
  // notifications.onEvent: events kept per user to resume from, and how long a user's stream outlives its last event.
  EVENT_STREAM_LENGTH: positiveInt.max(100_000).default(1_000),
  EVENT_STREAM_TTL_S: positiveInt.default(86_400),
  // portfolio.*: how long a cached answer lives. Fills and trade changes invalidate at once; the TTL bounds what
  // nothing announces (broker marks, renamed strategies).
  PORTFOLIO_CACHE_TTL_S: positiveInt.max(86_400).default(60),
});

/** Every variable Fillpath reads; .env.example lists exactly these. */
export const ENV_KEYS = Object.keys(envObject.shape);

export const envSchema = envObject
  .superRefine((env, ctx) => {
    if (!env.REDIS_CLUSTER && env.REDIS_URL.includes(',')) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'a list of nodes needs REDIS_CLUSTER=true' });
    }
    if (env.NODE_ENV !== 'production') return;
    if (!env.JWT_SECRET) ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'is required in production' });
    if (!env.ENCRYPTION_KEYS) {
      ctx.addIssue({ code: 'custom', path: ['ENCRYPTION_KEYS'], message: 'is required in production' });
    }
  })
  .transform((env) => ({
    ...env,
    JWT_SECRET: env.JWT_SECRET ?? DEV_JWT_SECRET,
    ENCRYPTION_KEYS: env.ENCRYPTION_KEYS ?? encryptionKeys.parse(DEV_ENCRYPTION_KEYS),
    TRUST_PROXY: parseTrustProxy(env.TRUST_PROXY),
    LOG_PRETTY: env.LOG_PRETTY ?? env.NODE_ENV === 'development',
  }));

export type Env = z.infer<typeof envSchema>;

/**
 * `true`/`false`, a hop count, or a comma list of addresses/CIDRs, in the forms Fastify's trustProxy accepts (a hop
 * count becomes the function Fastify would build from it).
 */
function parseTrustProxy(value: string): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (value === 'true') return true;
  if (value === 'false' || value === '') return false;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return (_address, hop) => hop < hops;
  }
  return value.split(',').map((s) => s.trim());
}

/** One human-readable line per problem, e.g. `PORT: must be a number (got "abc")`. */
export function formatEnvErrors(error: z.ZodError, source: Record<string, string | undefined>): string[] {
  return error.issues.map((issue) => {
    const key = String(issue.path[0] ?? 'env');
    const got = source[key];
    const shown = got === undefined ? 'unset' : /SECRET|KEY|DSN|PASSWORD|TOKEN|URL/.test(key) ? 'hidden' : `"${got}"`;
    return `${key}: ${issue.message} (got ${shown})`;
  });
}

export function parseEnv(source: Record<string, string | undefined>): Env {
  // Empty strings mean "unset" so a blank line in .env falls back to the default.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const result = envSchema.safeParse(cleaned);
  if (result.success) return result.data;
  throw new EnvError(formatEnvErrors(result.error, cleaned));
}

export class EnvError extends Error {
  readonly lines: string[];
  constructor(lines: string[]) {
    super(`Invalid configuration:\n${lines.join('\n')}`);
    this.lines = lines;
  }
}

function loadEnv(): Env {
  try {
    return parseEnv(process.env);
  } catch (error) {
    if (!(error instanceof EnvError)) throw error;
    for (const line of error.lines) process.stderr.write(`config error: ${line}\n`);
    process.exit(1);
  }
}

export const env: Env = loadEnv();
