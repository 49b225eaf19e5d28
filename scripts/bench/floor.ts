/**
 * The B1 floor (SPEC §12): a minimal Fastify route doing one INSERT and one BullMQ add per request, on the same
 * MariaDB and Redis as the api, with the api's pool size (DB_POOL_SIZE default 10) and its body handling (text,
 * any content type). Started as a child by scripts/bench/webhooks.ts with BENCH_DB_URL, REDIS_URL, BENCH_PREFIX and
 * PORT; answers GET /ready once listening.
 */
import { Queue } from 'bullmq';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { createPool, type ResultSetHeader } from 'mysql2/promise';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`floor: ${name} is required`);
  return value;
}

const pool = createPool({ uri: required('BENCH_DB_URL'), connectionLimit: 10, timezone: 'Z' });
const redis = new Redis(required('REDIS_URL'), { maxRetriesPerRequest: 1 });
const queue = new Queue('floor', { connection: redis, prefix: `${required('BENCH_PREFIX')}:{floor}` });
queue.on('error', () => undefined);

await pool.query(
  `CREATE TABLE IF NOT EXISTS bench_floor (
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
    'INSERT INTO bench_floor (raw_body, received_at) VALUES (?, ?)',
    [body, new Date()],
  );
  const id = result.insertId;
  await queue.add('floor', { id }, { jobId: `floor-${id}` });
  return reply.status(202).send({ ok: true, id, status: 'accepted' });
});

process.on('SIGTERM', () => {
  void (async () => {
    await app.close();
    await queue.close();
    redis.disconnect();
    await pool.end();
    process.exit(0);
  })();
});

await app.listen({ port: Number(required('PORT')), host: '127.0.0.1' });
