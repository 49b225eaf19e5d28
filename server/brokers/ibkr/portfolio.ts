/**
 * Positions and account (BROKERS.md §3.6). /portfolio/accounts comes first (once per session, see session.ts);
 * positions are served from a gateway-side snapshot, so it is invalidated before reading, then read page by page
 * (100 rows a page) until a short page.
 */
import { BrokerUnavailable } from '../errors.ts';
import { asRecord } from '../http.ts';
import type { BrokerAccount, BrokerPosition } from '../types.ts';
import type { ContractDirectory } from './contracts.ts';
import { errorText } from './gateway.ts';
import { positionFromRow, summaryAmount, summaryCurrency } from './mapping.ts';
import type { IbkrSession } from './session.ts';

const PAGE_SIZE = 100;
/** 10 000 positions: a bound against a gateway that never answers a short page. */
const MAX_PAGES = 100;
const CLEARING_STATUS: Record<string, string> = { O: 'OPEN', A: 'ABANDONED', C: 'CLOSED', N: 'NEW', P: 'PENDING' };

export async function positions(
  session: IbkrSession,
  contracts: ContractDirectory,
  signal: AbortSignal | undefined,
): Promise<BrokerPosition[]> {
  const base = `/portfolio/${encodeURIComponent(session.accountId)}`;
  // Without this the first page can be minutes old (a cached snapshot); a failure only costs freshness.
  await session
    .request({ method: 'POST', path: `${base}/positions/invalidate`, signal }, 'portfolio')
    .catch((error: unknown) => {
      if (signal?.aborted || !(error instanceof BrokerUnavailable)) throw error;
    });
  const result: BrokerPosition[] = [];
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const response = await session.request({ path: `${base}/positions/${page}`, signal }, 'portfolio');
    const error = errorText(response);
    if (error !== null) throw new BrokerUnavailable(`IBKR positions failed: ${error}`);
    const rows = Array.isArray(response.json) ? response.json : [];
    for (const row of rows) {
      const position = positionFromRow(row, (conid) => contracts.symbolOf(conid));
      if (position) result.push(position);
    }
    if (rows.length < PAGE_SIZE) break;
  }
  return result;
}

export async function account(session: IbkrSession, signal: AbortSignal | undefined): Promise<BrokerAccount> {
  const info = await session.portfolioAccountInfo(signal);
  const response = await session.request(
    { path: `/portfolio/${encodeURIComponent(session.accountId)}/summary`, signal },
    'portfolio',
  );
  const error = errorText(response);
  if (error !== null) throw new BrokerUnavailable(`IBKR account summary failed: ${error}`);
  const summary = asRecord(response.json);
  const equity = summaryAmount(summary, 'netliquidation');
  if (equity === null) throw new BrokerUnavailable('IBKR account summary has no net liquidation value yet');
  const clearing = typeof info.clearingStatus === 'string' ? info.clearingStatus : '';
  return {
    accountId: session.accountId,
    currency: summaryCurrency(summary) ?? (typeof info.currency === 'string' ? info.currency : 'USD'),
    equity,
    cash: summaryAmount(summary, 'totalcashvalue') ?? summaryAmount(summary, 'settledcash') ?? '0',
    buyingPower: summaryAmount(summary, 'buyingpower') ?? summaryAmount(summary, 'availablefunds') ?? '0',
    status: CLEARING_STATUS[clearing] ?? (clearing || 'UNKNOWN'),
    tradingBlocked: info.noClientTrading === true || clearing === 'C' || clearing === 'A',
  };
}
