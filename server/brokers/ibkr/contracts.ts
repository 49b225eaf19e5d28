/**
 * Symbol → conid (BROKERS.md §3.3). IBKR orders name contracts by conid, never by ticker. Stocks come from
 * /trsrv/stocks (US listing preferred), futures from /trsrv/futures (the nearest contract not yet expired), and
 * /iserver/secdef/search is the fallback for anything else. Conids never change, so they are cached for the life of
 * the adapter; a future's choice is cached only until that contract expires (then the next one is picked).
 */
import { BrokerRejected } from '../errors.ts';
import { asRecord, type BrokerResponse } from '../http.ts';
import { errorText } from './gateway.ts';
import type { IbkrSession } from './session.ts';

interface CachedConid {
  conid: number;
  /** yyyymmdd of a future's expiry: the cached choice is stale after it. */
  expires: number | null;
}

export class ContractDirectory {
  private readonly session: IbkrSession;
  private readonly bySymbol = new Map<string, CachedConid>();
  private readonly symbols = new Map<number, string>();

  constructor(session: IbkrSession) {
    this.session = session;
  }

  /** The symbol a conid was looked up for (orders and positions name it by ticker anyway; this is the fallback). */
  symbolOf(conid: unknown): string | null {
    return this.symbols.get(Number(conid)) ?? null;
  }

  async conidOf(symbol: string, signal: AbortSignal | undefined): Promise<number> {
    const key = symbol.trim().toUpperCase();
    const cached = this.bySymbol.get(key);
    if (cached && (cached.expires === null || cached.expires >= today())) return cached.conid;
    const found =
      (await this.stock(key, signal)) ?? (await this.future(key, signal)) ?? (await this.search(key, signal));
    if (!found) throw new BrokerRejected(`IBKR does not know the symbol ${symbol}`, { brokerCode: 'unknown-symbol' });
    this.bySymbol.set(key, found);
    this.symbols.set(found.conid, key);
    return found.conid;
  }

  private async lookup(path: string, query: Record<string, string>, signal: AbortSignal | undefined) {
    const response: BrokerResponse = await this.session.request({ path, query, signal });
    // A lookup that answers an error found nothing usable; the next source may still know the symbol.
    return errorText(response) === null ? response.json : undefined;
  }

  private async stock(symbol: string, signal: AbortSignal | undefined): Promise<CachedConid | null> {
    const body = asRecord(await this.lookup('/trsrv/stocks', { symbols: symbol }, signal));
    const entries = Array.isArray(body[symbol]) ? (body[symbol] as unknown[]).map(asRecord) : [];
    const contracts = entries.flatMap((e) => (Array.isArray(e.contracts) ? e.contracts.map(asRecord) : []));
    const chosen = contracts.find((c) => c.isUS === true) ?? contracts[0];
    const conid = conidOf(chosen?.conid);
    return conid === null ? null : { conid, expires: null };
  }

  private async future(symbol: string, signal: AbortSignal | undefined): Promise<CachedConid | null> {
    const body = asRecord(await this.lookup('/trsrv/futures', { symbols: symbol }, signal));
    const list = Array.isArray(body[symbol]) ? (body[symbol] as unknown[]).map(asRecord) : [];
    const now = today();
    const live: CachedConid[] = [];
    for (const f of list) {
      const conid = conidOf(f.conid);
      const expires = Number(f.expirationDate ?? f.ltd);
      if (conid !== null && Number.isInteger(expires) && expires >= now) live.push({ conid, expires });
    }
    live.sort((a, b) => (a.expires ?? 0) - (b.expires ?? 0));
    return live[0] ?? null;
  }

  private async search(symbol: string, signal: AbortSignal | undefined): Promise<CachedConid | null> {
    const body = await this.lookup('/iserver/secdef/search', { symbol, secType: 'STK' }, signal);
    const list = Array.isArray(body) ? body.map(asRecord) : [];
    const exact = list.find((item) => String(item.symbol ?? '').toUpperCase() === symbol);
    const conid = conidOf(exact?.conid);
    return conid === null ? null : { conid, expires: null };
  }
}

/** secdef/search answers conids as strings, the other endpoints as numbers. */
function conidOf(value: unknown): number | null {
  const conid = typeof value === 'string' ? Number(value) : value;
  return typeof conid === 'number' && Number.isInteger(conid) && conid > 0 ? conid : null;
}

/** Today as yyyymmdd (UTC), comparable with IBKR's expirationDate numbers. */
function today(): number {
  const iso = new Date().toISOString();
  return Number(`${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}`);
}
