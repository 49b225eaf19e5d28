/**
 * From a failed job to a dead letter, through real queues and workers: a job given up on (attempts used up, or an
 * unrecoverable error) is handed to the `dead-letters` queue, whose recorder writes exactly one dead_letters row with
 * its audit row and the owner's notification. Uses the `orders` queue with 2 attempts and a millisecond backoff.
 */
import type { Job, Worker } from 'bullmq';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deadLetters } from '../../../drizzle/schema/dead_letters.ts';
import { notifications } from '../../../drizzle/schema/notifications.ts';
import { createRedis } from '../../../server/jobs/connection.ts';
import {
  deadLetterRecordJobId,
  deservesDeadLetter,
  enqueueDeadLetterRecord,
} from '../../../server/jobs/dead-letters.ts';
import { enqueue } from '../../../server/jobs/enqueue.ts';
import { deadLettersProcessor } from '../../../server/jobs/processors/dead-letters.ts';
import {
  createQueue,
  createQueues,
  createWorker,
  type QueueConfig,
  type Queues,
} from '../../../server/jobs/queue-factory.ts';
import { deadLettersQueue, ordersQueue, QUEUE_CONFIGS } from '../../../server/jobs/queues/index.ts';
import { defineProcessor, type JobContext } from '../../../server/jobs/run-processor.ts';
import { env } from '../../../server/lib/env.ts';
import { logger } from '../../../server/lib/logger.ts';
import type { RedisClient } from '../../../server/lib/redis-client.ts';
import { recordDeadLetter } from '../../../server/services/dead-letters/record.ts';
import { BrokerUnavailable, Precondition } from '../../../server/services/errors.ts';
import { waitFor } from '../../helpers/app.ts';
import { useTestDatabase } from '../../helpers/db.ts';
import { deadLetterAudits, insertOwnedRows, type OwnedRows, systemContext } from './fixtures.ts';

const database = useTestDatabase();
const { db } = database;
const orders: QueueConfig<'orders'> = {
  ...ordersQueue,
  defaultJobOptions: { ...ordersQueue.defaultJobOptions, attempts: 2, backoff: { type: 'fixed', delay: 5 } },
};

let behaviour: (ctx: JobContext, orderId: number) => Promise<unknown>;
const attempts: number[] = [];
const givenUp = new Map<string, Promise<void>>();

let producer: RedisClient;
let consumer: RedisClient;
let queues: Queues;
let workers: Worker[];
let owned: OwnedRows;
beforeAll(async () => {
  producer = createRedis(env.REDIS_URL, 'producer', logger);
  consumer = createRedis(env.REDIS_URL, 'worker', logger);
  // The recorder reads failed jobs back through `queues`; orders carries the test's attempts and backoff.
  queues = { ...createQueues(QUEUE_CONFIGS, producer, logger), orders: createQueue(orders, producer, logger) };
  // Wired as server/worker.ts wires every worker; each hand-over is kept so a test can wait for it.
  const onGivenUp = (config: QueueConfig) => (job: Job) => {
    const done = enqueueDeadLetterRecord(queues, config.name, job, logger);
    givenUp.set(`${config.name}/${job.id}`, done);
    return done;
  };
  const submit = defineProcessor(
    orders,
    { db, log: logger },
    {
      'submit-order': async (ctx, { orderId }) => {
        attempts.push(ctx.job.attempt);
        return behaviour(ctx, orderId);
      },
    },
  );
  workers = [
    createWorker(orders, submit, consumer, logger, { onGivenUp: onGivenUp(orders) }),
    createWorker(deadLettersQueue, deadLettersProcessor({ database, log: logger, queues }), consumer, logger, {
      onGivenUp: onGivenUp(deadLettersQueue),
    }),
  ];
  owned = await insertOwnedRows(db);
});
afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.close()));
  await Promise.all(Object.values(queues).map((queue) => queue.close()));
  await Promise.all([producer.quit(), consumer.quit()]);
});
beforeEach(() => {
  attempts.length = 0;
});

async function settled(queue: Queues[keyof Queues], id: string): Promise<string> {
  let state = '';
  await waitFor(async () => {
    state = String(await queue.getJobState(id));
    return state === 'completed' || state === 'failed';
  });
  return state;
}

/** Submits an order job, waits for its recording job to finish, and returns the job id. */
async function failedAndRecorded(orderId: number): Promise<string> {
  const job = await enqueue(queues.orders, 'submit-order', { orderId });
  const id = String(job.id);
  expect(await settled(queues.orders, id)).toBe('failed');
  expect(await settled(queues['dead-letters'], deadLetterRecordJobId('orders', id))).toBe('completed');
  return id;
}

async function deadLettersOf(jobId: string) {
  return db
    .select()
    .from(deadLetters)
    .where(and(eq(deadLetters.queue, 'orders'), eq(deadLetters.jobId, jobId)));
}

describe('recording a failed job', () => {
  it('turns a job that used up its attempts into one dead letter, audited, with a notification to its owner', async () => {
    behaviour = async () => {
      throw new BrokerUnavailable('broker answered 503');
    };
    const jobId = await failedAndRecorded(owned.orderId);
    expect(attempts).toEqual([1, 2]);

    const rows = await deadLettersOf(jobId);
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row).toMatchObject({
      jobName: 'submit-order',
      userId: owned.userId,
      payload: { orderId: owned.orderId },
      error: 'broker answered 503',
      attempts: 2,
      status: 'open',
      resolvedBy: null,
      resolvedAt: null,
    });
    const id = row?.id ?? 0;
    const audits = await deadLetterAudits(db, id);
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({
      action: 'dead_letter.create',
      actorType: 'system',
      userId: owned.userId,
      newValue: { queue: 'orders', jobName: 'submit-order', jobId, attempts: 2 },
    });
    const notes = await db.select().from(notifications).where(eq(notifications.type, 'dead_letter.created'));
    const mine = notes.filter((note) => note.data?.deadLetterId === id);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      userId: owned.userId,
      severity: 'error',
      isRead: false,
      data: { deadLetterId: id },
    });
    expect(mine[0]?.message).toContain('after 2 attempts: broker answered 503.');

    // The same failed job recorded again (a re-run recording job, or a direct call) returns the same row, adding nothing.
    const recording = () => queues['dead-letters'].getJob(deadLetterRecordJobId('orders', jobId));
    expect((await recording())?.returnvalue).toEqual({ created: true, deadLetterId: id });
    await (await recording())?.retry('completed');
    await waitFor(async () => (await recording())?.returnvalue?.created === false);
    expect((await recording())?.returnvalue).toEqual({ created: false, deadLetterId: id });
    const again = await recordDeadLetter(systemContext(db), {
      queue: 'orders',
      jobName: 'submit-order',
      jobId,
      payload: { orderId: owned.orderId },
      error: 'broker answered 503',
      attempts: 2,
    });
    expect(again).toMatchObject({ created: false, deadLetter: { id } });
    expect(await deadLettersOf(jobId)).toHaveLength(1);
    expect(await deadLetterAudits(db, id)).toHaveLength(1);
    expect(
      (await db.select().from(notifications).where(eq(notifications.type, 'dead_letter.created'))).filter(
        (note) => note.data?.deadLetterId === id,
      ),
    ).toHaveLength(1);
  });

  it('records a job failed by an unrecoverable error after its one attempt', async () => {
    behaviour = async () => {
      throw new Precondition('order is not pending');
    };
    const jobId = await failedAndRecorded(owned.orderId);
    expect(attempts).toEqual([1]);
    expect(await deadLettersOf(jobId)).toMatchObject([{ attempts: 1, error: 'order is not pending', status: 'open' }]);
  });

  it('records a job whose payload names no existing row without an owner or a notification', async () => {
    behaviour = async () => {
      throw new BrokerUnavailable('timeout');
    };
    const before = await db.select().from(notifications);
    const jobId = await failedAndRecorded(987_654_321);
    const [row] = await deadLettersOf(jobId);
    expect(row).toMatchObject({ userId: null, payload: { orderId: 987_654_321 } });
    expect(await deadLetterAudits(db, row?.id ?? 0)).toMatchObject([{ userId: null, actorType: 'system' }]);
    expect(await db.select().from(notifications)).toHaveLength(before.length);
  });

  it('leaves no trace of a job that succeeds on its retry', async () => {
    behaviour = async (ctx) => {
      if (ctx.job.attempt === 1) throw new BrokerUnavailable('blip');
      return { submitted: true };
    };
    const job = await enqueue(queues.orders, 'submit-order', { orderId: owned.orderId });
    expect(await settled(queues.orders, String(job.id))).toBe('completed');
    expect(attempts).toEqual([1, 2]);
    // The first attempt's failure was not handed over (its `failed` listener ran before the retry did).
    expect(givenUp.has(`orders/${job.id}`)).toBe(false);
    expect(await queues['dead-letters'].getJob(deadLetterRecordJobId('orders', String(job.id)))).toBeUndefined();
    expect(await deadLettersOf(String(job.id))).toEqual([]);
  });

  it('does not record the recorder’s own failures, so a failing recording cannot loop', async () => {
    const recordId = deadLetterRecordJobId('orders', 'gone-1');
    // The failed job it names is not in Redis (removed, say): the recording fails for good at once.
    await enqueue(
      queues['dead-letters'],
      'record-dead-letter',
      { queue: 'orders', jobId: 'gone-1' },
      { jobId: recordId },
    );
    expect(await settled(queues['dead-letters'], recordId)).toBe('failed');
    await waitFor(async () => givenUp.has(`dead-letters/${recordId}`));
    await givenUp.get(`dead-letters/${recordId}`);
    expect((await queues['dead-letters'].getJob(recordId))?.failedReason).toBe('orders job gone-1 not found');
    expect(await queues['dead-letters'].getJob(deadLetterRecordJobId('dead-letters', recordId))).toBeUndefined();
    expect(await db.select().from(deadLetters).where(eq(deadLetters.queue, 'dead-letters'))).toEqual([]);
  });

  it('skips scheduler jobs (the next run replaces them) and recorder jobs', () => {
    const job = (fields: Partial<Job>) => ({ id: '7', ...fields }) as Job;
    expect(deservesDeadLetter('orders', job({}))).toBe(true);
    expect(deservesDeadLetter('maintenance', job({ id: 'repeat:outbox-sweep:1', repeatJobKey: 'outbox-sweep' }))).toBe(
      false,
    );
    expect(deservesDeadLetter('dead-letters', job({}))).toBe(false);
    // BullMQ refuses custom ids with a `:` outside its own scheduler format.
    expect(deadLetterRecordJobId('signals', 'a:b')).toBe('dlr-signals-a_b');
  });
});
