/**
 * What the rest of Fillpath tells the portfolio: a user's fills or trades changed (drop their cached answers), or a
 * broker reported market prices (marks for unrealized P&L). The changes happen deep in the worker (fills recorded by
 * status polls) and in reconciliation, so, like the event sink (events/publish.ts), each process installs one sink at
 * start (server/api.ts, server/worker.ts) instead of threading Redis through every caller. A process without one
 * (scripts, most tests) tells nothing. Callers call after their change committed; the calls return at once and never
 * throw.
 */

export interface PortfolioSink {
  invalidate(userId: number): void;
  rememberMarks(connectionId: number, positions: ReadonlyArray<BrokerMarkInput>, at: Date): void;
}

export interface BrokerMarkInput {
  symbol: string;
  marketPrice: string | null;
}

let installed: PortfolioSink | null = null;

/** Installs this process's sink (null removes it). */
export function setPortfolioSink(next: PortfolioSink | null): void {
  installed = next;
}

/** The user's fills or trades changed: their cached portfolio answers must not be served again. */
export function invalidatePortfolio(userId: number): void {
  try {
    installed?.invalidate(userId);
  } catch {
    // Never the caller's problem: the cache's TTL bounds what a lost invalidation costs.
  }
}

/** The market prices a broker reported for a connection's positions (reconciliation's positions call). */
export function noteBrokerMarks(
  connectionId: number,
  positions: ReadonlyArray<BrokerMarkInput>,
  at = new Date(),
): void {
  try {
    installed?.rememberMarks(connectionId, positions, at);
  } catch {
    // Marks improve unrealized P&L; without them positions are valued at their last fill.
  }
}
