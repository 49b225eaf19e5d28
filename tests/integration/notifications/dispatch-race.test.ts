/**
 * Notification sweeps overlap (a repeatable job's next run starts when the current one has, and every worker
 * sweeps): each notification must still be enqueued and announced to the trader's event streams once.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { users } from '../../../drizzle/schema/users.ts';
import { logger } from '../../../server/lib/logger.ts';
import type { ServiceContext } from '../../../server/services/context.ts';
import { setEventSink } from '../../../server/services/events/publish.ts';
import { createNotification } from '../../../server/services/notifications/create.ts';
import { dispatchNotifications } from '../../../server/services/notifications/dispatch.ts';
import { useTestDatabase } from '../../helpers/db.ts';

const { db } = useTestDatabase();
const ctx: ServiceContext = { db, log: logger, requestId: 'dispatch-race', actor: { type: 'system' } };

it('two overlapping sweeps announce each notification exactly once, and dispatch them all', async () => {
  const [row] = await db
    .insert(users)
    .values({ email: `${randomUUID()}@example.com`, passwordHash: 'x', name: 'Race' })
    .$returningId();
  const userId = row?.id ?? 0;
  for (let i = 0; i < 50; i++) {
    await createNotification(db, { userId, type: 'order.filled', severity: 'success', title: `n${i}`, message: 'm' });
  }
  // Open pool connections first, so both sweeps read at the same moment.
  await Promise.all([1, 2, 3, 4].map(() => db.execute(sql`SELECT SLEEP(0.05)`)));
  const announced: number[] = [];
  setEventSink({
    publish: (_user, event) => {
      if (event.kind === 'notification') announced.push(event.notificationId);
    },
  });
  try {
    const sweeps = await Promise.all([
      dispatchNotifications(ctx, async () => undefined),
      dispatchNotifications(ctx, async () => undefined),
    ]);
    expect(sweeps.reduce((sum, sweep) => sum + sweep.notifications, 0)).toBe(50);
  } finally {
    setEventSink(null);
  }
  expect(announced).toHaveLength(50);
  expect(new Set(announced).size).toBe(50);
});
