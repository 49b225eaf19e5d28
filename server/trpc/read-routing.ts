/**
 * Which database a tRPC call's services use (`ctx.db`), decided here for every procedure so services never choose.
 * With a read replica (DATABASE_READ_URL):
 * - a signed-in user's queries use `replicaDb` (selects on the replica; anything else still goes to the primary),
 *   unless the user's data changed within READ_YOUR_WRITES_MS (server/lib/recent-writes.ts), or their access token
 *   is that young (they have just signed in, signed up or refreshed: anonymous mutations, with no user to note), or
 *   Redis cannot say;
 * - mutations and subscriptions use the primary for every statement: their reads feed decisions (ownership, limits,
 *   an order's state) and must see the latest commit. A mutation then notes its user's write, so their next reads,
 *   from any api instance, come from the primary too;
 * - anonymous calls use the primary.
 * The checks every call makes (a live session, an active admin) read the primary whatever the call. The worker opens
 * no replica at all: its reads decide what to send to brokers.
 */
import { READ_YOUR_WRITES_MS, type RecentWrites } from '../lib/recent-writes.ts';
import type { ServiceContext } from '../services/context.ts';

type CallType = 'query' | 'mutation' | 'subscription';
type Db = ServiceContext['db'];

interface Caller {
  id: number;
  /** Epoch ms when the access token was issued. */
  tokenIssuedAt: number;
}

export interface ReadRouting {
  /** The database a call of `type` by `caller` runs its services on. */
  databaseFor(caller: Caller, type: CallType): Promise<Db>;
  /** After a mutation by `userId` (whatever its outcome: a failed one may have committed part of its work). */
  afterMutation(userId: number): Promise<void>;
}

/**
 * `primary` and `replicaDb` as the database handle has them; `recent` is null without a replica, and then every
 * call uses the primary and nothing is noted.
 */
export function createReadRouting(databases: { primary: Db; replicaDb: Db }, recent: RecentWrites | null): ReadRouting {
  const { primary, replicaDb } = databases;
  if (!recent) return { databaseFor: async () => primary, afterMutation: async () => {} };
  return {
    async databaseFor(caller, type) {
      if (type !== 'query' || Date.now() - caller.tokenIssuedAt < READ_YOUR_WRITES_MS) return primary;
      return (await recent.changedRecently(caller.id)) ? primary : replicaDb;
    },
    afterMutation: (userId) => recent.note(userId),
  };
}
