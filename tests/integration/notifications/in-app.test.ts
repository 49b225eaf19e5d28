/**
 * The in-app verbs over tRPC: getUnread, list (cursor, unreadOnly), markRead, markAllRead and delete, each scoped
 * to the caller (another user's ids change nothing and answer like missing ones).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotification } from '../../../server/services/notifications/create.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { type SignedInUser, signUp, trpcFailure } from '../../helpers/client.ts';

let server: TestApp;
let alice: SignedInUser;
let bob: SignedInUser;
const aliceIds: number[] = [];
let bobId = 0;

beforeAll(async () => {
  server = await startTestApp();
  [alice, bob] = await Promise.all([signUp(server.url), signUp(server.url)]);
  const db = server.deps.database.db;
  for (let i = 1; i <= 5; i++) {
    aliceIds.push(
      await createNotification(db, {
        userId: alice.id,
        type: 'order.filled',
        severity: 'success',
        title: `Fill ${i}`,
        message: `Bought ${i}`,
        data: { orderId: i },
      }),
    );
  }
  bobId = await createNotification(db, {
    userId: bob.id,
    type: 'order.rejected',
    severity: 'error',
    title: 'Rejected',
    message: 'No',
  });
});
afterAll(() => server.close());

const titles = (items: Array<{ title: string }>) => items.map((item) => item.title);

describe('in-app notifications', () => {
  it('getUnread answers the newest unread ones and how many are unread, the caller’s only', async () => {
    const unread = await alice.client.notifications.getUnread.query({ limit: 2 });
    expect(titles(unread.items)).toEqual(['Fill 5', 'Fill 4']);
    expect(unread.unreadCount).toBe(5);
    expect(unread.items[0]).toEqual({
      id: aliceIds[4],
      type: 'order.filled',
      severity: 'success',
      title: 'Fill 5',
      message: 'Bought 5',
      data: { orderId: 5 },
      isRead: false,
      readAt: null,
      createdAt: expect.any(Date),
    });
    expect((await bob.client.notifications.getUnread.query()).unreadCount).toBe(1);
  });

  it('list pages newest first by cursor', async () => {
    const first = await alice.client.notifications.list.query({ limit: 2 });
    expect(titles(first.items)).toEqual(['Fill 5', 'Fill 4']);
    expect(first.nextCursor).toBe(aliceIds[3]);
    const second = await alice.client.notifications.list.query({ limit: 2, cursor: first.nextCursor ?? undefined });
    expect(titles(second.items)).toEqual(['Fill 3', 'Fill 2']);
    const last = await alice.client.notifications.list.query({ limit: 2, cursor: second.nextCursor ?? undefined });
    expect([titles(last.items), last.nextCursor]).toEqual([['Fill 1'], null]);
  });

  it('markRead marks the caller’s ids only and counts what turned read', async () => {
    const [one, two] = aliceIds;
    const answer = await alice.client.notifications.markRead.mutate({ ids: [one ?? 0, two ?? 0, bobId] });
    expect(answer).toEqual({ updated: 2 });
    expect(await alice.client.notifications.markRead.mutate({ ids: [one ?? 0] })).toEqual({ updated: 0 });
    expect((await bob.client.notifications.getUnread.query()).unreadCount).toBe(1);

    const unread = await alice.client.notifications.list.query({ unreadOnly: true });
    expect(titles(unread.items)).toEqual(['Fill 5', 'Fill 4', 'Fill 3']);
    const all = await alice.client.notifications.list.query({});
    const read = all.items.find((item) => item.id === one);
    expect([read?.isRead, read?.readAt instanceof Date]).toEqual([true, true]);
    expect((await alice.client.notifications.getUnread.query()).unreadCount).toBe(3);
  });

  it('markAllRead stops at upToId when given, and leaves other users alone', async () => {
    expect(await alice.client.notifications.markAllRead.mutate({ upToId: aliceIds[3] })).toEqual({ updated: 2 });
    expect(titles((await alice.client.notifications.getUnread.query()).items)).toEqual(['Fill 5']);
    expect(await alice.client.notifications.markAllRead.mutate()).toEqual({ updated: 1 });
    expect((await alice.client.notifications.getUnread.query()).unreadCount).toBe(0);
    expect((await bob.client.notifications.getUnread.query()).unreadCount).toBe(1);
  });

  it('delete hides one of the caller’s notifications; another user’s id answers NOT_FOUND like a missing one', async () => {
    const target = aliceIds[4] ?? 0;
    expect(await alice.client.notifications.delete.mutate({ id: target })).toEqual({ ok: true });
    expect((await alice.client.notifications.list.query({})).items.map((item) => item.id)).not.toContain(target);

    const again = await trpcFailure(() => alice.client.notifications.delete.mutate({ id: target }));
    const foreign = await trpcFailure(() => alice.client.notifications.delete.mutate({ id: bobId }));
    expect([again.data?.code, foreign.data?.code]).toEqual(['NOT_FOUND', 'NOT_FOUND']);
    expect(foreign.message).toBe(again.message);
    expect((await bob.client.notifications.list.query({})).items.map((item) => item.id)).toEqual([bobId]);
  });

  it('refuses out-of-range input', async () => {
    const tooMany = await trpcFailure(() =>
      alice.client.notifications.markRead.mutate({ ids: Array.from({ length: 101 }, (_, i) => i + 1) }),
    );
    const none = await trpcFailure(() => alice.client.notifications.markRead.mutate({ ids: [] }));
    const bigLimit = await trpcFailure(() => alice.client.notifications.getUnread.query({ limit: 101 }));
    for (const failure of [tooMany, none, bigLimit]) expect(failure.data?.code).toBe('BAD_REQUEST');
  });
});
