/**
 * The floor of B2 and B4 (SPEC §12), the same path with the signal engine taken out: a minimal Fastify route does
 * one INSERT and one BullMQ add per alert (as scripts/bench/floor.ts), and a BullMQ worker in the same process
 * turns each job into one POST /v2/orders to the fake Alpaca (client order id `floor-<row id>`), with the api's
 * pool size and the orders queue's concurrency. Started by scripts/bench/signal-to-order.ts with BENCH_DB_URL,
 * REDIS_URL, BENCH_PREFIX, PORT, BENCH_BROKER_URL, BENCH_KEY_ID and BENCH_SECRET; answers GET /ready once listening.
 */
import { Queue, Worker } from 'bullmq';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { createPool, type ResultSetHeader } from 'mysql2/promise';
import { request } from 'undici';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`signal-floor: ${name} is required`);
  return value;
}

const brokerUrl = required('BENCH_BROKER_URL');
const brokerHeaders = {
  'content-type': 'application/json',
  'apca-api-key-id': required('BENCH_KEY_ID'),
  'apca-api-secret-key': required('BENCH_SECRET'),
};
const prefix = `${required('BENCH_PREFIX')}:{signal-floor}`;
const pool = createPool({ uri: required('BENCH_DB_URL'), connectionLimit: 10, timezone: 'Z' });
const producer = new Redis(required('REDIS_URL'), { maxRetriesPerRequest: 1 });
const consumer = new Redis(required('REDIS_URL'), { maxRetriesPerRequest: null });
const queue = new Queue('signal-floor', { connection: producer, prefix });
queue.on('error', () => undefined);

// One symbol for every floor order: the fake's buying-power check walks the account's positions on every order.
const worker = new Worker<{ id: number }>(
  'signal-floor',
  async (job) => {
    // undici's request, the broker adapters' HTTP client (server/brokers/http.ts).
    const response = await request(`${brokerUrl}/v2/orders`, {
      method: 'POST',
      headers: brokerHeaders,
      body: JSON.stringify({
        symbol: 'FLOOR',
        qty: '1',
        side: 'buy',
        type: 'market',
        time_in_force: 'day',
        client_order_id: `floor-${job.data.id}`,
      }),
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`fake broker answered ${response.statusCode}: ${text}`);
  },
  {
    connection: consumer,
    prefix,
    concurrency: 16,
    removeOnComplete: { count: 10_000 },
    removeOnFail: { count: 10_000 },
  },
);
worker.on('error', () => undefined);

await pool.query(
  `CREATE TABLE IF NOT EXISTS bench_signal_floor (
     id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
     raw_body TEXT NOT NULL,
     received_at DATETIME(3) NOT NULL
   ) ENGINE=InnoDB`,
);

const app = Fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => done(null, body));
app.get('/ready', async () => ({ ok: true }));
app.post('/floor', async (request, reply) => {
  const body = typeof request.body === 'string' ? request.body : '';
  const [result] = await pool.execute<ResultSetHeader>(
    'INSERT INTO bench_signal_floor (raw_body, received_at) VALUES (?, ?)',
    [body, new Date()],
  );
  const id = result.insertId;
  await queue.add('order', { id }, { jobId: `floor-${id}`, removeOnComplete: { count: 10_000 } });
  return reply.status(202).send({ ok: true, id, status: 'accepted' });
});

process.on('SIGTERM', () => {
  void (async () => {
    await app.close();
    await worker.close();
    await queue.close();
    producer.disconnect();
    consumer.disconnect();
    await pool.end();
    process.exit(0);
  })();
});

await app.listen({ port: Number(required('PORT')), host: '127.0.0.1' });
