/**
 * IBKR portfolio and contract lookup (BROKERS.md §3.3, §3.6): /portfolio/accounts, positions paged by 100 (a cached
 * snapshot until invalidated), /portfolio2 (live), summary, ledger; secdef search and /trsrv stocks and futures.
 */
import { accountMetrics } from '../common/book.ts';
import { big, fmt, isZero, max, mul, num, sub } from '../common/decimal.ts';
import { type FakeRequest, json, type Router } from '../common/http.ts';
import { isRecord, str } from '../common/json.ts';
import { type IbkrContext, ibError } from './session.ts';
import type { IbkrContract, IbkrState } from './types.ts';

const PAGE_SIZE = 100;

export function accountValues(state: IbkrState, accountId: string) {
  const book = state.engine.account(accountId);
  const multiplierOf = (s: string) => state.contracts.find((c) => c.symbol === s)?.multiplier ?? '1';
  const m = accountMetrics(book, (s) => state.engine.mark(s), multiplierOf, 'cash');
  const initMargin = mul(m.grossMarketValue, '0.25');
  const availableFunds = max(0, sub(m.equity, initMargin));
  return { ...m, netLiquidation: m.equity, initMargin, availableFunds, buyingPower: mul(availableFunds, '4') };
}

function positionRows(ctx: IbkrContext, accountId: string): Array<Record<string, unknown>> {
  const { state } = ctx;
  const book = state.engine.account(accountId);
  const rows: Array<Record<string, unknown>> = [];
  for (const pos of book.positions.values()) {
    if (isZero(pos.qty)) continue;
    const contract = state.contracts.find((c) => c.symbol === pos.symbol);
    if (!contract) continue;
    const mark = state.engine.mark(pos.symbol) ?? pos.avgPrice;
    const mult = contract.multiplier;
    rows.push({
      acctId: accountId,
      conid: contract.conid,
      contractDesc:
        contract.secType === 'FUT'
          ? `${contract.symbol} ${contract.expiry ?? ''} (${contract.localSymbol ?? ''})`
          : contract.symbol,
      position: num(pos.qty),
      mktPrice: num(mark),
      mktValue: num(big(pos.qty).times(mark).times(mult)),
      currency: 'USD',
      avgCost: num(big(pos.avgPrice).times(mult)),
      avgPrice: num(pos.avgPrice),
      realizedPnl: num(pos.realized),
      unrealizedPnl: num(big(mark).minus(pos.avgPrice).times(pos.qty).times(mult)),
      exchs: null,
      expiry: contract.expiry ?? null,
      putOrCall: null,
      multiplier: contract.secType === 'FUT' ? num(mult) : 0,
      strike: '0',
      exerciseStyle: null,
      conExchMap: [],
      assetClass: contract.secType,
      undConid: contract.underlyingConid ?? 0,
      model: '',
      time: 0,
      listingExchange: contract.listingExchange,
      countryCode: 'US',
      name: contract.companyName,
      ticker: contract.symbol,
      fullName: contract.secType === 'FUT' ? `${contract.symbol} ${contract.localSymbol ?? ''}` : contract.symbol,
      isUS: true,
      isEventContract: false,
      pageSize: PAGE_SIZE,
    });
  }
  return rows.sort((a, b) => Number(a.conid) - Number(b.conid));
}

function knownAccount(ctx: IbkrContext, req: FakeRequest): string | null {
  const id = req.params.accountId ?? '';
  return ctx.state.accounts.includes(id) ? id : null;
}

function summaryValue(amount: string | number | boolean, timestamp: number, currency: string | null = 'USD') {
  return {
    amount: typeof amount === 'string' ? num(amount) : amount,
    currency,
    isNull: false,
    timestamp,
    value: null,
    severity: 0,
  };
}

export function registerPortfolioRoutes(router: Router, ctx: IbkrContext): void {
  const { state, clock } = ctx;
  router
    .add('GET', '/portfolio/accounts', () => {
      state.session.portfolioAccountsFetched = true;
      return json(
        200,
        state.accounts.map((id) => ({
          id,
          accountId: id,
          accountVan: id,
          accountTitle: 'Fake Paper Account',
          displayName: id,
          accountAlias: null,
          accountStatus: 1_700_000_000_000,
          currency: 'USD',
          type: 'DEMO',
          tradingType: 'STKNOPT',
          businessType: 'IB_PROSERVE',
          ibEntity: 'IBLLC-US',
          faclient: false,
          clearingStatus: 'O',
          covestor: false,
          noClientTrading: false,
          trackVirtualFXPortfolio: false,
          parent: { mmc: [], accountId: '', isMParent: false, isMChild: false, isMultiplex: false },
          desc: id,
          brokerageAccess: true,
        })),
      );
    })
    .add('GET', '/portfolio/:accountId/positions/:page', (req) => {
      const accountId = knownAccount(ctx, req);
      if (!accountId) return ibError(400, `Account ${req.params.accountId} not found`);
      const page = Number(req.params.page);
      if (!Number.isInteger(page) || page < 0) return ibError(400, 'pageId must be a non-negative integer');
      let rows = state.positionCache.get(accountId);
      if (!rows || !state.config.cachePositions) {
        rows = positionRows(ctx, accountId);
        state.positionCache.set(accountId, rows);
      }
      return json(200, rows.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE));
    })
    .add('POST', '/portfolio/:accountId/positions/invalidate', (req) => {
      const accountId = knownAccount(ctx, req);
      if (!accountId) return ibError(400, `Account ${req.params.accountId} not found`);
      state.positionCache.set(accountId, positionRows(ctx, accountId));
      return json(200, { message: 'success' });
    })
    .add('GET', '/portfolio2/:accountId/positions', (req) => {
      const accountId = knownAccount(ctx, req);
      if (!accountId) return ibError(400, `Account ${req.params.accountId} not found`);
      return json(
        200,
        positionRows(ctx, accountId).map((r) => ({
          position: r.position,
          conid: String(r.conid),
          avgCost: r.avgCost,
          avgPrice: r.avgPrice,
          currency: 'USD',
          description: r.contractDesc,
          isLastToLoq: false,
          marketPrice: r.mktPrice,
          marketValue: r.mktValue,
          realizedPnl: r.realizedPnl,
          secType: r.assetClass,
          timestamp: Math.floor(clock.nowMs() / 1000),
          unrealizedPnl: r.unrealizedPnl,
          assetClass: r.assetClass,
        })),
      );
    })
    .add('GET', '/portfolio/:accountId/summary', (req) => {
      const accountId = knownAccount(ctx, req);
      if (!accountId) return ibError(400, `Account ${req.params.accountId} not found`);
      const v = accountValues(state, accountId);
      const t = clock.nowMs();
      return json(200, {
        netliquidation: summaryValue(v.netLiquidation, t),
        equitywithloanvalue: summaryValue(v.netLiquidation, t),
        totalcashvalue: summaryValue(v.cash, t),
        settledcash: summaryValue(v.cash, t),
        grosspositionvalue: summaryValue(v.grossMarketValue, t),
        initmarginreq: summaryValue(v.initMargin, t),
        maintmarginreq: summaryValue(v.initMargin, t),
        availablefunds: summaryValue(v.availableFunds, t),
        excessliquidity: summaryValue(v.availableFunds, t),
        buyingpower: summaryValue(v.buyingPower, t),
        cushion: summaryValue(
          isZero(v.netLiquidation) ? '0' : fmt(big(v.availableFunds).div(v.netLiquidation), 6),
          t,
          null,
        ),
      });
    })
    .add('GET', '/portfolio/:accountId/ledger', (req) => {
      const accountId = knownAccount(ctx, req);
      if (!accountId) return ibError(400, `Account ${req.params.accountId} not found`);
      const v = accountValues(state, accountId);
      const entry = (currency: string) => ({
        commoditymarketvalue: 0,
        futuremarketvalue: 0,
        settledcash: num(v.cash),
        exchangerate: 1,
        sessionid: 1,
        cashbalance: num(v.cash),
        corporatebondsmarketvalue: 0,
        warrantsmarketvalue: 0,
        netliquidationvalue: num(v.netLiquidation),
        interest: 0,
        unrealizedpnl: num(v.unrealized),
        stockmarketvalue: num(big(v.longMarketValue).plus(v.shortMarketValue)),
        moneyfunds: 0,
        currency,
        realizedpnl: num(v.realized),
        funds: 0,
        acctcode: accountId,
        issueroptionsmarketvalue: 0,
        key: 'LedgerList',
        timestamp: Math.floor(clock.nowMs() / 1000),
        severity: 0,
      });
      return json(200, { USD: entry('USD'), BASE: entry('BASE') });
    })
    .add(['GET', 'POST'], '/iserver/secdef/search', (req) => {
      const body = isRecord(req.body) ? req.body : {};
      const symbol = (req.query.get('symbol') ?? str(body, 'symbol') ?? '').toUpperCase();
      const secType = req.query.get('secType') ?? str(body, 'secType') ?? null;
      const found = findContracts(ctx, symbol).filter((c) => secType === null || c.secType === secType);
      return json(
        200,
        found.map((c) => ({
          conid: String(c.conid),
          companyHeader: `${c.companyName} - ${c.exchange}`,
          companyName: c.companyName,
          symbol: c.symbol,
          description: c.exchange,
          restricted: null,
          sections:
            c.secType === 'FUT' ? [{ secType: 'FUT', months: 'DEC25', exchange: c.exchange }] : [{ secType: 'STK' }],
        })),
      );
    })
    .add('GET', '/trsrv/stocks', (req) => {
      const out: Record<string, unknown> = {};
      for (const symbol of symbolsOf(req)) {
        out[symbol] = findContracts(ctx, symbol)
          .filter((c) => c.secType === 'STK')
          .map((c) => ({
            name: c.companyName,
            chineseName: null,
            assetClass: 'STK',
            contracts: [{ conid: c.conid, exchange: c.listingExchange, isUS: true }],
          }));
      }
      return json(200, out);
    })
    .add('GET', '/trsrv/futures', (req) => {
      const out: Record<string, unknown> = {};
      for (const symbol of symbolsOf(req)) {
        out[symbol] = state.contracts
          .filter((c) => c.secType === 'FUT' && c.symbol === symbol)
          .map((c) => ({
            symbol: c.symbol,
            conid: c.conid,
            underlyingConid: c.underlyingConid ?? 0,
            expirationDate: Number(c.expiry ?? 0),
            ltd: Number(c.expiry ?? 0),
          }));
      }
      return json(200, out);
    });
}

function symbolsOf(req: FakeRequest): string[] {
  return (req.query.get('symbols') ?? '')
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
}

/** Contracts with this ticker; an unknown stock symbol is listed at the default price when one is configured. */
function findContracts(ctx: IbkrContext, symbol: string): IbkrContract[] {
  const { state } = ctx;
  const found = state.contracts.filter((c) => c.symbol === symbol);
  if (found.length > 0 || state.defaultPrice === null || !/^[A-Z][A-Z0-9.]{0,9}$/.test(symbol)) return found;
  const contract: IbkrContract = {
    conid: 900_000_000 + state.contracts.length,
    symbol,
    secType: 'STK',
    exchange: 'NASDAQ',
    listingExchange: 'NASDAQ',
    companyName: `${symbol} INC (fake)`,
    multiplier: '1',
  };
  state.contracts.push(contract);
  state.engine.setPrice(symbol, state.defaultPrice);
  return [contract];
}
