/**
 * Bulk writes for the seed: trade rows as multi-row INSERT statements built as text (every value is generated here:
 * numbers, fixed enum words, symbols from market.ts, so nothing needs escaping beyond the quotes), sent a few
 * statements at a time over a pool so MariaDB parses one statement while it applies another.
 */
import type { Pool } from 'mysql2/promise';
import { centsText } from './market.ts';
import type { TradeRow } from './trades.ts';

export const TRADE_COLUMNS =
  'user_id, strategy_id, broker_connection_id, symbol, side, quantity, entry_price, exit_price, entry_date, ' +
  'exit_date, pnl, pnl_percent, fees, status, created_at, updated_at';

/** `YYYY-MM-DD HH:MM:SS.mmm` (UTC), as a datetime(3) literal. */
export function datetimeText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23).replace('T', ' ');
}

const quoted = (text: string) => `'${text.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
const orNull = (value: string | null) => (value === null ? 'NULL' : quoted(value));

/** One trade as a VALUES tuple in TRADE_COLUMNS order; the row is created at entry and last updated at exit. */
export function tradeTuple(row: TradeRow): string {
  const entry = datetimeText(row.entryMs);
  const exit = row.exitMs === null ? null : datetimeText(row.exitMs);
  return `(${row.userId},${row.strategyId},${row.connectionId},${quoted(row.symbol)},'${row.side}','${row.quantity}',${[
    centsText(row.entryCents),
    row.exitCents === null ? null : centsText(row.exitCents),
    entry,
    exit,
    row.pnlCents === null ? null : centsText(row.pnlCents),
    row.pnlPercent,
    centsText(row.feesCents),
    row.exitMs === null ? 'open' : 'closed',
    entry,
    exit ?? entry,
  ]
    .map(orNull)
    .join(',')})`;
}

export interface BatchWriter {
  /** Queues one tuple; resolves once the batch it completes (if any) has a free slot to be sent in. */
  add(tuple: string): Promise<void>;
  /** Sends what is left and waits for every statement; throws the first failure. */
  finish(): Promise<void>;
}

/**
 * Groups tuples into `INSERT INTO <table> (<columns>) VALUES …` statements of `rowsPerStatement` rows and keeps at
 * most `inFlight` of them running; `onWritten(rows)` is called as each one commits (autocommit).
 */
export function createBatchWriter(
  pool: Pool,
  table: string,
  columns: string,
  rowsPerStatement: number,
  inFlight: number,
  onWritten: (rows: number) => void = () => undefined,
): BatchWriter {
  let tuples: string[] = [];
  const running = new Set<Promise<void>>();
  let failure: unknown = null;

  const send = async (batch: string[]) => {
    const statement = pool
      .query(`INSERT INTO ${table} (${columns}) VALUES ${batch.join(',')}`)
      .then(() => onWritten(batch.length))
      .catch((error: unknown) => {
        failure ??= error;
      })
      .finally(() => running.delete(statement));
    running.add(statement);
    while (running.size >= inFlight) await Promise.race(running);
    if (failure) throw failure;
  };

  return {
    async add(tuple) {
      tuples.push(tuple);
      if (tuples.length < rowsPerStatement) return;
      const batch = tuples;
      tuples = [];
      await send(batch);
    },
    async finish() {
      if (tuples.length > 0) {
        const batch = tuples;
        tuples = [];
        await send(batch);
      }
      await Promise.all(running);
      if (failure) throw failure;
    },
  };
}
