/**
 * Sending TradingView alerts to the real route over HTTP, and reading back what they left: the webhook log row and
 * the signal job.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eq } from 'drizzle-orm';
import { webhookLogs } from '../../drizzle/schema/webhook_logs.ts';
import type { Database } from '../../server/db/client.ts';
import type { Queues } from '../../server/jobs/queue-factory.ts';
import { signalJobId } from '../../shared/jobs.ts';
import type { CreateStrategyInput } from '../../shared/schemas/strategies.ts';
import type { ApiClient } from './client.ts';
import { rememberSecret } from './secrets.ts';

export const WEBHOOK_PATH = '/api/v1/webhooks/tradingview/';

export interface AlertAnswer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
  elapsedMs: number;
}

/** POSTs `body` as TradingView would: no headers but the content type. */
export async function postAlert(
  baseUrl: string,
  token: string,
  body: string,
  contentType: string | null = 'application/json',
): Promise<AlertAnswer> {
  const startedAt = performance.now();
  const response = await fetch(`${baseUrl}${WEBHOOK_PATH}${token}`, {
    method: 'POST',
    headers: contentType === null ? {} : { 'content-type': contentType },
    body,
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    headers: response.headers,
    elapsedMs: performance.now() - startedAt,
  };
}

let strategyCounter = 0;

/** A strategy of `client`'s user and its webhook token (registered as a secret the logs must never show). */
export async function createWebhookStrategy(
  client: ApiClient,
  settings: Partial<Omit<CreateStrategyInput, 'name'>> = {},
): Promise<{ id: number; token: string }> {
  const created = await client.strategies.create.mutate({ name: `Webhook ${++strategyCounter}`, ...settings });
  rememberSecret(created.webhookToken);
  if (typeof settings.passphrase === 'string') rememberSecret(settings.passphrase);
  return { id: created.strategy.id, token: created.webhookToken };
}

export async function webhookLog(db: Database, id: unknown) {
  if (typeof id !== 'number') throw new Error(`no log id in the answer: ${String(id)}`);
  const [row] = await db.select().from(webhookLogs).where(eq(webhookLogs.id, id));
  if (!row) throw new Error(`webhook log ${id} not found`);
  return row;
}

/** The signal job of a log, if BullMQ holds one. */
export function signalJob(queues: Pick<Queues, 'signals'>, webhookLogId: unknown) {
  return queues.signals.getJob(signalJobId(Number(webhookLogId)));
}

export interface AlertFixture {
  id: string;
  content_type: string;
  body: string;
  note: string;
  expect: string;
}

/** The shared sample alerts (`../shared/fixtures/` beside the project root). */
export function readAlertFixtures(): AlertFixture[] {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const text = readFileSync(resolve(root, '../shared/fixtures/tradingview-alerts.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as AlertFixture);
}
