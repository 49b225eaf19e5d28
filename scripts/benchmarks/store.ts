/**
 * Writes benchmark closes. `upsertBenchmarks` replaces the close of an existing (symbol, date) and counts what
 * changed, all in one transaction (an import lands whole or not at all); `insertMissingBenchmarks` only fills days
 * that have no close yet, so generated demo data never overwrites imported closes.
 */
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';

export interface Close {
  symbol: string;
  date: string;
  close: string;
}

export interface UpsertCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

const CHUNK = 1_000;

/** Decimal text without trailing fractional zeros, so "470.10000000" (as stored) equals "470.1". */
function canonical(decimal: string): string {
  return decimal.includes('.') ? decimal.replace(/\.?0+$/, '') : decimal;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

/** Existing closes of `symbol` on `dates`, by date, read with a lock so the counts match what the upsert does. */
async function existingCloses(conn: PoolConnection, symbol: string, dates: string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const part of chunks(dates, CHUNK)) {
    const [rows] = await conn.query<RowDataPacket[]>(
      `SELECT DATE_FORMAT(date, '%Y-%m-%d') AS date, close FROM benchmarks WHERE symbol = ? AND date IN (?) FOR UPDATE`,
      [symbol, part],
    );
    for (const row of rows) found.set(String(row.date), canonical(String(row.close)));
  }
  return found;
}

export async function upsertBenchmarks(pool: Pool, closes: readonly Close[]): Promise<UpsertCounts> {
  const counts: UpsertCounts = { inserted: 0, updated: 0, unchanged: 0 };
  const conn = await pool.getConnection();
  try {
    await conn.beginTransaction();
    const bySymbol = new Map<string, Close[]>();
    for (const close of closes) {
      const group = bySymbol.get(close.symbol);
      if (group) group.push(close);
      else bySymbol.set(close.symbol, [close]);
    }
    for (const [symbol, rows] of bySymbol) {
      const existing = await existingCloses(
        conn,
        symbol,
        rows.map((row) => row.date),
      );
      const changed = rows.filter((row) => {
        const stored = existing.get(row.date);
        if (stored === undefined) counts.inserted++;
        else if (stored === canonical(row.close)) counts.unchanged++;
        else counts.updated++;
        return stored !== canonical(row.close);
      });
      for (const part of chunks(changed, CHUNK)) {
        await conn.query(
          'INSERT INTO benchmarks (symbol, date, close) VALUES ? ON DUPLICATE KEY UPDATE close = VALUES(close)',
          [part.map((row) => [row.symbol, row.date, row.close])],
        );
      }
    }
    await conn.commit();
    return counts;
  } catch (error) {
    await conn.rollback().catch(() => undefined);
    throw error;
  } finally {
    conn.release();
  }
}

/** Inserts the closes whose (symbol, date) has none yet; returns how many were added. */
export async function insertMissingBenchmarks(pool: Pool, closes: readonly Close[]): Promise<number> {
  let added = 0;
  for (const part of chunks(closes, CHUNK)) {
    const [result] = await pool.query<ResultSetHeader>('INSERT IGNORE INTO benchmarks (symbol, date, close) VALUES ?', [
      part.map((row) => [row.symbol, row.date, row.close]),
    ]);
    added += result.affectedRows;
  }
  return added;
}
