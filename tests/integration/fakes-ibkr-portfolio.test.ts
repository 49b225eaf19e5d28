/** The IBKR fake's portfolio, contract lookup, pacing and failure switches (programmatic and /__fake). */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_IBKR_CONTRACTS, type FakeIbkr, startFakeIbkr } from '../fakes/ibkr.ts';
import { type HttpClient, httpClient, type Json } from '../fakes/testing.ts';

const ACCT = 'DU1234567';
// 105 stocks, so positions need two pages of 100.
const many = Array.from({ length: 105 }, (_, i) => ({
  ...DEFAULT_IBKR_CONTRACTS[0],
  conid: 1000 + i,
  symbol: `S${i}`,
  companyName: `STOCK ${i}`,
  secType: 'STK' as const,
  exchange: 'NASDAQ',
  listingExchange: 'NASDAQ',
  multiplier: '1',
  price: '10',
}));
const fake: FakeIbkr = await startFakeIbkr({ authenticated: true, contracts: [...DEFAULT_IBKR_CONTRACTS, ...many] });
const api: HttpClient = httpClient(fake.url);
const admin: HttpClient = httpClient(fake.url.replace(/\/v1\/api$/, ''));
afterAll(() => fake.close());
beforeEach(async () => {
  fake.controls.reset();
  await api.get('/iserver/accounts');
  await api.get('/portfolio/accounts');
});

const ticket = (extra: Json = {}) => ({
  conid: 265598,
  orderType: 'MKT',
  side: 'BUY',
  quantity: 10,
  tif: 'DAY',
  ...extra,
});
const place = (extra: Json = {}) => api.post<Json[]>(`/iserver/account/${ACCT}/orders`, { orders: [ticket(extra)] });

describe('fake IBKR: portfolio', () => {
  it('pages positions by 100 from a snapshot that invalidate refreshes; /portfolio2 is live', async () => {
    expect((await api.get<Json[]>(`/portfolio/${ACCT}/positions/0`)).body).toEqual([]);
    for (let i = 0; i < 105; i += 1) await place({ conid: 1000 + i, quantity: 1 });
    expect((await api.get<Json[]>(`/portfolio/${ACCT}/positions/0`)).body).toEqual([]);
    expect((await api.get<Json[]>(`/portfolio2/${ACCT}/positions`)).body).toHaveLength(105);
    expect((await api.post(`/portfolio/${ACCT}/positions/invalidate`)).status).toBe(200);
    const page0 = await api.get<Json[]>(`/portfolio/${ACCT}/positions/0`);
    expect(page0.body).toHaveLength(100);
    expect(page0.body[0]).toMatchObject({
      acctId: ACCT,
      conid: 1000,
      position: 1,
      avgPrice: 10,
      mktValue: 10,
      assetClass: 'STK',
    });
    expect((await api.get<Json[]>(`/portfolio/${ACCT}/positions/1`)).body).toHaveLength(5);
    expect((await api.get<Json[]>(`/portfolio/${ACCT}/positions/2`)).body).toEqual([]);
  });

  it('reports signed positions, summary and ledger that follow fills', async () => {
    await place({ side: 'SELL', quantity: 4 });
    fake.controls.setPrice('AAPL', '140');
    const rows = await api.get<Json[]>(`/portfolio2/${ACCT}/positions`);
    expect(rows.body[0]).toMatchObject({ position: -4, avgPrice: 150, unrealizedPnl: 40 });
    const summary = await api.get(`/portfolio/${ACCT}/summary`);
    expect(summary.body.netliquidation).toMatchObject({ amount: 100040, currency: 'USD', isNull: false });
    const ledger = await api.get(`/portfolio/${ACCT}/ledger`);
    expect(ledger.body.USD).toMatchObject({ cashbalance: 100600, netliquidationvalue: 100040, currency: 'USD' });
    fake.controls.reset();
    fake.controls.login();
    expect((await api.get(`/portfolio/${ACCT}/positions/0`)).body).toEqual({
      error: 'Please query /portfolio/accounts first',
    });
  });

  it('looks contracts up: secdef search (conid as a string), /trsrv stocks and futures (numbers)', async () => {
    const found = await api.get<Json[]>('/iserver/secdef/search?symbol=AAPL&secType=STK');
    expect(found.body).toEqual([
      expect.objectContaining({ conid: '265598', symbol: 'AAPL', sections: [{ secType: 'STK' }] }),
    ]);
    const stocks = await api.get<Record<string, Json[]>>('/trsrv/stocks?symbols=AAPL,MSFT');
    expect(stocks.body.MSFT?.[0]).toMatchObject({
      assetClass: 'STK',
      contracts: [{ conid: 272093, exchange: 'NASDAQ', isUS: true }],
    });
    const futures = await api.get<Record<string, Json[]>>('/trsrv/futures?symbols=ES');
    expect(futures.body.ES?.[0]).toMatchObject({ conid: 495512563, expirationDate: 20251219 });
    expect((await api.get<Json[]>('/iserver/secdef/search?symbol=NOPE')).body).toEqual([]);
  });
});

describe('fake IBKR: limits and failure switches', () => {
  it('answers 429 when polling live orders faster than 1 per 5 s, then holds a 10-minute penalty box', async () => {
    fake.controls.configure({ pacing: true });
    expect((await api.get('/iserver/account/orders')).status).toBe(200);
    fake.controls.advanceTime(5_000);
    expect((await api.get('/iserver/account/orders')).status).toBe(200);
    expect((await api.get('/iserver/account/orders')).status).toBe(429);
    expect((await api.post('/iserver/auth/status')).status).toBe(429);
    fake.controls.advanceTime(10 * 60_000);
    expect((await api.post('/iserver/auth/status')).status).toBe(200);
  });

  it('rejects with {"error"} on demand, past buying power, or after acknowledging (Inactive)', async () => {
    fake.controls.rejectNextOrder({ error: 'Order rejected by risk' });
    expect((await place()).body).toEqual({ error: 'Order rejected by risk' });
    const tooBig = await place({ quantity: 3000 });
    expect(tooBig.status).toBe(200);
    expect(String((tooBig.body as unknown as Json).error)).toContain('YOUR ORDER IS NOT ACCEPTED');
    fake.controls.rejectNextAccepted();
    const ack = await place({ cOID: 'late' });
    expect(ack.body[0]?.order_status).toBe('Submitted');
    expect((await api.get(`/iserver/account/order/status/${String(ack.body[0]?.order_id)}`)).body.order_status).toBe(
      'Inactive',
    );
  });

  it('stores an order whose response is dropped; the retry gets "already registered"', async () => {
    fake.controls.dropNextResponse({ method: 'POST', path: '/iserver/account/:accountId/orders' });
    await expect(place({ cOID: 'drop-1' })).rejects.toThrow();
    expect(fake.controls.ordersByClientId('drop-1')).toHaveLength(1);
    expect((await place({ cOID: 'drop-1' })).body).toMatchObject({
      error: expect.stringContaining('already registered'),
    });
    fake.controls.failNext(1, { status: 503 });
    expect((await api.get('/iserver/accounts')).status).toBe(503);
    fake.controls.configure({ ackShape: 'object' });
    expect((await place()).body).toMatchObject({ order_status: 'Submitted', encrypt_message: '1' });
  });

  it('fills in partial steps per status poll', async () => {
    fake.controls.configureFills({ mode: 'polls', polls: 1, steps: 2 });
    const ack = await place();
    const status = async () => (await api.get(`/iserver/account/order/status/${String(ack.body[0]?.order_id)}`)).body;
    expect(await status()).toMatchObject({ order_status: 'Submitted', cum_fill: '5.0', size: '5.0' });
    expect(await status()).toMatchObject({ order_status: 'Filled', cum_fill: '10.0' });
  });

  it('exposes session, questions, rejections and faults under /__fake', async () => {
    await admin.post('/__fake/expire-session');
    expect((await api.get('/iserver/accounts')).status).toBe(401);
    await admin.post('/__fake/login');
    await api.get('/iserver/accounts');
    await admin.post('/__fake/questions', { questions: [{ message: ['Sure?'], messageIds: ['o1'] }] });
    expect((await place()).body[0]).toMatchObject({ message: ['Sure?'], messageIds: ['o1'] });
    await admin.post('/__fake/questions', { questions: [] });
    await admin.post('/__fake/reject-next', { error: 'nope', status: 400 });
    expect((await place()).status).toBe(400);
    await admin.post('/__fake/drop-brokerage-session', { competing: true });
    expect((await api.post('/iserver/auth/status')).body.competing).toBe(true);
    expect((await admin.get('/__fake/state')).body.session).toMatchObject({ authenticated: false });
  });
});
