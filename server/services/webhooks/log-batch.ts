/**
 * Group commit for accepted webhook logs, the hot path of ingestion. Alerts arriving together are written by one
 * multi-row INSERT (one statement, one commit, one log flush) instead of one each: under load the api's cost per
 * alert is dominated by round trips, not by the rows. Each caller still gets its own log id, and its answer only
 * after the statement committed, so a 202 always means a durable row.
 *
 * A batch starts on the next turn of the event loop after an alert arrives (collecting everything that arrived
 * meanwhile), with at most MAX_IN_FLIGHT batches in progress; alerts arriving while all are busy wait for the next.
 * Deduplication keeps its exact semantics (./dedup.ts): the previous-bucket lookups of a batch are one query, and
 * anything unusual — a key seen twice in one batch, an earlier holder within the window, a unique-key collision
 * with another process — goes through the per-alert path (writeAcceptedOrDuplicate), which sorts it out as before.
 */
import type { Database } from '../../db/client.ts';
import { isDuplicateKey } from '../../db/errors.ts';
import { type AcceptOutcome, type DedupPlan, writeAcceptedOrDuplicate } from './dedup.ts';
import {
  type AutoIncrementLayout,
  autoIncrementLayout,
  bounded,
  dedupHolderKey,
  findDedupHolders,
  insertLogs,
  type WebhookLogInsert,
} from './log-store.ts';

/** Batches in progress at once: enough to keep the pool busy, few enough that batches grow under load. */
const MAX_IN_FLIGHT = 3;
const MAX_ROWS = 500;
/** Bodies are ≤ 64 KiB each; this keeps one statement far below max_allowed_packet (16 MiB by default). */
const MAX_BYTES = 4 * 1024 * 1024;

interface PendingAccept {
  row: WebhookLogInsert;
  plan: DedupPlan | undefined;
  deadline: number;
  bytes: number;
  resolve(outcome: AcceptOutcome): void;
  reject(error: unknown): void;
}

export interface AcceptedLogWriter {
  /** Same contract as writeAcceptedOrDuplicate: resolves once the log is committed. */
  accept(row: WebhookLogInsert, plan: DedupPlan | undefined, deadline: number): Promise<AcceptOutcome>;
}

class BatchedLogWriter implements AcceptedLogWriter {
  private readonly db: Database;
  private pending: PendingAccept[] = [];
  private inFlight = 0;
  private scheduled = false;
  private layout: Promise<AutoIncrementLayout> | undefined;

  constructor(db: Database) {
    this.db = db;
  }

  accept(row: WebhookLogInsert, plan: DedupPlan | undefined, deadline: number): Promise<AcceptOutcome> {
    return new Promise((resolve, reject) => {
      const bytes = Buffer.byteLength(row.rawBody ?? '', 'utf8');
      this.pending.push({ row: { ...row, status: 'received' }, plan, deadline, bytes, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= MAX_IN_FLIGHT || this.pending.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.inFlight < MAX_IN_FLIGHT && this.pending.length > 0) {
        const batch = this.takeBatch();
        this.inFlight += 1;
        void this.flush(batch).finally(() => {
          this.inFlight -= 1;
          this.schedule();
        });
      }
    });
  }

  private takeBatch(): PendingAccept[] {
    let count = 0;
    let bytes = 0;
    while (count < this.pending.length && count < MAX_ROWS) {
      const next = this.pending[count] as PendingAccept;
      if (count > 0 && bytes + next.bytes > MAX_BYTES) break;
      bytes += next.bytes;
      count += 1;
    }
    return this.pending.splice(0, count);
  }

  private async flush(batch: PendingAccept[]): Promise<void> {
    try {
      const deadline = Math.min(...batch.map((entry) => entry.deadline));
      const layout = await bounded(this.autoIncrement(), deadline, 'auto-increment settings');
      if (!layout.consecutive) return await this.oneByOne(batch);
      const { together, separately } = await this.split(batch, deadline);
      await this.insertTogether(together, separately, layout.step, deadline);
      await this.oneByOne(separately);
    } catch (error) {
      // Every entry not yet answered gets the batch's error (a 503 for the caller); answered ones ignore it.
      for (const entry of batch) entry.reject(error);
    }
  }

  /** The entries one multi-row INSERT can take, and those whose dedup needs the per-alert path. */
  private async split(batch: PendingAccept[], deadline: number) {
    const previousKeys = batch.flatMap((entry) =>
      entry.plan?.previous ? [{ strategyId: entry.row.strategyId, dedupKey: entry.plan.previous.key }] : [],
    );
    const earlier = await findDedupHolders(this.db, previousKeys, deadline);
    const together: PendingAccept[] = [];
    const separately: PendingAccept[] = [];
    const keysInBatch = new Set<string>();
    for (const entry of batch) {
      const previous = entry.plan?.previous;
      const holder = previous ? earlier.get(dedupHolderKey(entry.row.strategyId, previous.key)) : undefined;
      const key = entry.plan ? dedupHolderKey(entry.row.strategyId, entry.plan.key) : undefined;
      if ((holder && previous && holder.receivedAt.getTime() >= previous.since) || (key && keysInBatch.has(key))) {
        separately.push(entry);
        continue;
      }
      if (key) keysInBatch.add(key);
      together.push(entry);
    }
    return { together, separately };
  }

  private async insertTogether(
    together: PendingAccept[],
    separately: PendingAccept[],
    step: number,
    deadline: number,
  ): Promise<void> {
    if (together.length === 0) return;
    const rows = together.map((entry) => ({ ...entry.row, dedupKey: entry.plan?.key ?? null }));
    try {
      const ids = await insertLogs(this.db, rows, step, deadline);
      together.forEach((entry, index) => {
        entry.resolve({ accepted: true, id: ids[index] as number });
      });
    } catch (error) {
      // A key another process committed meanwhile fails the whole statement: the per-alert path finds which.
      if (!isDuplicateKey(error)) throw error;
      separately.unshift(...together);
    }
  }

  /** In arrival order, so the first of two identical alerts is the one accepted. */
  private async oneByOne(entries: PendingAccept[]): Promise<void> {
    for (const entry of entries) {
      await writeAcceptedOrDuplicate(this.db, entry.row, entry.plan, entry.deadline).then(entry.resolve, entry.reject);
    }
  }

  private autoIncrement(): Promise<AutoIncrementLayout> {
    this.layout ??= autoIncrementLayout(this.db).catch((error: unknown) => {
      this.layout = undefined;
      throw error;
    });
    return this.layout;
  }
}

const byDatabase = new WeakMap<Database, AcceptedLogWriter>();

/** The batching writer of `db`, one per pool, so every alert of the process shares the same batches. */
export function batchedLogWriter(db: Database): AcceptedLogWriter {
  let writer = byDatabase.get(db);
  if (!writer) {
    writer = new BatchedLogWriter(db);
    byDatabase.set(db, writer);
  }
  return writer;
}
