/**
 * JSON value → Signal (SPEC §4 step 3): aliases, case, coercions, placeholders, and every rejection code with the
 * field it names. The passphrase has its own file.
 */
import { describe, expect, it } from 'vitest';
import { normalizeSignal, parseAlertBody } from '../../server/services/signals/parse.ts';
import { SIGNAL_REJECTION_CODES } from '../../shared/schemas/signal.ts';

const BASE = { ticker: 'AAPL', action: 'buy' };

/** Normalizes a body given as JSON text, through the real parser (so numbers arrive as JsonNumber). */
function normalizeText(body: string) {
  const parsed = parseAlertBody(body, 'text/plain');
  if (!parsed.ok) throw new Error(parsed.message);
  return normalizeSignal(parsed.value);
}

const normalize = (fields: Record<string, unknown>) => normalizeText(JSON.stringify({ ...BASE, ...fields }));

describe('aliases and case', () => {
  it.each([
    [{ ticker: undefined, symbol: 'MSFT' }, { ticker: 'MSFT' }],
    [{ ticker: undefined, SYMBOL: ' MSFT ' }, { ticker: 'MSFT' }],
    [{ ticker: undefined, Ticker: 'ES1!' }, { ticker: 'ES1!' }],
    [{ qty: '3' }, { quantity: '3' }],
    [{ contracts: 3 }, { quantity: '3' }],
    [{ Quantity: '3', qty: 3 }, { quantity: '3' }],
    [{ position_size: '-5' }, { positionSize: '-5' }],
    [{ 'Position-Size': -5 }, { positionSize: '-5' }],
    [{ signalId: 'k1' }, { idempotencyKey: 'k1' }],
    [{ eventId: 'k1' }, { idempotencyKey: 'k1' }],
    [{ alertId: 42 }, { idempotencyKey: '42' }],
    [{ idempotency_key: 'k1' }, { idempotencyKey: 'k1' }],
    [{ id: 'Exit Long' }, { orderName: 'Exit Long' }],
    [{ ID: 'Long', order_name: 'Long' }, { orderName: 'Long' }],
    [
      { limit_price: '10.5', STOP_PRICE: 9, time_in_force: 'GTC' },
      { limitPrice: '10.5', stopPrice: '9', timeInForce: 'gtc' },
    ],
    [{ order_type: 'Stop-Limit' }, { orderType: 'stop_limit' }],
    [{ orderType: 'stop limit' }, { orderType: 'stop_limit' }],
    [{ quantityType: 'Percent_Of_Equity' }, { quantityType: 'percent_of_equity' }],
    [{ quantity_type: 'dollar amount' }, { quantityType: 'dollar_amount' }],
    [{ take_profit: { LIMIT_PRICE: '200' } }, { takeProfit: { limitPrice: '200' } }],
    [{ StopLoss: { stop_price: '90', limitPrice: 89.5 } }, { stopLoss: { stopPrice: '90', limitPrice: '89.5' } }],
    [{ stopLoss: { Percent: '1.5' } }, { stopLoss: { percent: '1.5' } }],
    [{ takeProfit: { amount: 5, percent: '' } }, { takeProfit: { amount: '5' } }],
  ])('reads %j', (fields, expected) => {
    expect(normalize(fields)).toEqual({ ok: true, signal: { ...BASE, ...expected } });
  });

  it.each([
    ['long', 'buy'],
    ['short', 'sell'],
    ['LONG', 'buy'],
    [' Short ', 'sell'],
    ['BUY', 'buy'],
    ['Sell', 'sell'],
    ['EXIT', 'exit'],
    ['cancel', 'cancel'],
    ['Add', 'add'],
  ])('reads the action %j as %s', (action, expected) => {
    expect(normalize({ action })).toMatchObject({ ok: true, signal: { action: expected } });
  });

  it.each([
    ['buy', 'long', 'long'],
    ['buy', 'Bullish', 'long'],
    ['sell', 'bearish', 'short'],
    ['sell', 'SHORT', 'short'],
    ['sell', 'flat', 'flat'],
    ['buy', 'Flat', 'flat'],
  ])('reads %s with sentiment %j as %s', (action, sentiment, expected) => {
    expect(normalize({ action, sentiment })).toMatchObject({ ok: true, signal: { sentiment: expected } });
  });
});

describe('coercions', () => {
  it.each([
    ['"10"', '10'],
    ['10', '10'],
    ['"1e1"', '10'],
    ['1e1', '10'],
    ['"1E+1"', '10'],
    ['2.5e-3', '0.0025'],
    ['"0.5"', '0.5'],
    ['".5"', '0.5'],
    ['"5."', '5'],
    ['"+3"', '3'],
    ['"1.50"', '1.5'],
    ['" 7 "', '7'],
    ['0.30000000000000004', '0.30000000000000004'],
    ['"0.000000000000000001"', '0.000000000000000001'],
    ['999999999999.999999999999999999', '999999999999.999999999999999999'],
  ])('reads the quantity %s as %j, exactly', (quantity, expected) => {
    expect(normalizeText(`{"ticker":"A","action":"buy","quantity":${quantity}}`)).toMatchObject({
      ok: true,
      signal: { quantity: expected },
    });
  });

  it('keeps float noise in prices as sent', () => {
    expect(normalize({ price: '1194.6000000000001' })).toMatchObject({ signal: { price: '1194.6000000000001' } });
    expect(normalizeText('{"ticker":"A","action":"buy","price":1194.6000000000001}')).toMatchObject({
      signal: { price: '1194.6000000000001' },
    });
  });

  it.each([
    ['"-0"', '0'],
    ['0', '0'],
    ['-2.50', '-2.5'],
    ['"-1e2"', '-100'],
  ])('reads the signed positionSize %s as %j', (size, expected) => {
    expect(normalizeText(`{"ticker":"A","action":"buy","positionSize":${size}}`)).toMatchObject({
      signal: { positionSize: expected },
    });
  });

  it('treats empty placeholders and null as absent', () => {
    const signal = normalize({
      quantity: '',
      price: ' ',
      sentiment: '',
      orderType: null,
      comment: '',
      time: '\u00a0',
      takeProfit: { percent: '' },
      stopLoss: {},
      alertId: '',
      id: null,
      symbol: '',
    });
    expect(signal).toEqual({ ok: true, signal: BASE });
  });

  it('accepts numeric tickers and text fields sent unquoted', () => {
    expect(normalizeText('{"ticker":7203,"action":"buy","comment":12.5,"id":1}')).toEqual({
      ok: true,
      signal: { ticker: '7203', action: 'buy', comment: '12.5', orderName: '1' },
    });
  });

  it.each([
    ['2025-01-15T14:30:05Z', '2025-01-15T14:30:05.000Z'],
    ['2025-01-15T14:30:05.123Z', '2025-01-15T14:30:05.123Z'],
    ['2025-01-15T14:30:05.123456789Z', '2025-01-15T14:30:05.123Z'],
    ['2025-01-15 14:30:05Z', '2025-01-15T14:30:05.000Z'],
    ['2025-01-15T14:30Z', '2025-01-15T14:30:00.000Z'],
    ['2025-01-15T15:30:05+01:00', '2025-01-15T14:30:05.000Z'],
    ['2025-01-15T09:30:05-0500', '2025-01-15T14:30:05.000Z'],
    ['2025-01-15t14:30:05z', '2025-01-15T14:30:05.000Z'],
    [1736951405, '2025-01-15T14:30:05.000Z'],
    ['1736951405', '2025-01-15T14:30:05.000Z'],
    ['1736951405.5', '2025-01-15T14:30:05.500Z'],
    [1736951405123, '2025-01-15T14:30:05.123Z'],
    ['1736951405123', '2025-01-15T14:30:05.123Z'],
  ])('reads the time %j', (time, expected) => {
    expect(normalize({ time })).toMatchObject({ ok: true, signal: { time: expected } });
  });

  it('cuts an over-long comment or order name instead of refusing the trade', () => {
    const result = normalize({ comment: `${'x'.repeat(499)}😀😀`, id: 'n'.repeat(150) });
    expect(result).toMatchObject({ ok: true, signal: { comment: 'x'.repeat(499), orderName: 'n'.repeat(100) } });
  });

  it('replaces lone surrogates in text', () => {
    expect(normalizeText('{"ticker":"A","action":"buy","comment":"a\\ud800b"}')).toMatchObject({
      signal: { comment: 'a\ufffdb' },
    });
  });

  it('ignores unknown keys, including ones that look like prototypes', () => {
    const unknown = { interval: '15', exchange: 'NASDAQ', extra: { deep: [1, 2] }, constructor: 'buy', toString: 'x' };
    expect(normalize(unknown)).toEqual({ ok: true, signal: BASE });
  });

  it('accepts plain objects and numbers from JSON.parse as well', () => {
    expect(normalizeSignal(JSON.parse('{"symbol":"ES1!","action":"short","qty":2,"time":1736951405}'))).toEqual({
      ok: true,
      signal: { ticker: 'ES1!', action: 'sell', quantity: '2', time: '2025-01-15T14:30:05.000Z' },
    });
    expect(normalizeSignal({ ...BASE, quantity: 1e21 })).toMatchObject({ code: 'invalid-quantity' });
  });
});

describe('rejections', () => {
  it.each([
    ['not an object: a list', '[{"ticker":"A","action":"buy"}]', 'malformed-payload', undefined],
    ['not an object: a string', '"buy"', 'malformed-payload', undefined],
    ['not an object: null', 'null', 'malformed-payload', undefined],
    ['not an object: a number', '42', 'malformed-payload', undefined],
    ['no ticker', '{"action":"buy"}', 'missing-ticker', 'ticker'],
    ['an empty ticker', '{"ticker":"  ","action":"buy"}', 'missing-ticker', 'ticker'],
    ['a null ticker', '{"ticker":null,"action":"buy"}', 'missing-ticker', 'ticker'],
    ['a ticker with spaces', '{"ticker":"ES 1!","action":"buy"}', 'invalid-payload', 'ticker'],
    ['a boolean ticker', '{"ticker":true,"action":"buy"}', 'invalid-payload', 'ticker'],
    ['an over-long ticker', `{"ticker":"${'A'.repeat(65)}","action":"buy"}`, 'invalid-payload', 'ticker'],
    ['a ticker with a control character', '{"ticker":"A\\u0000B","action":"buy"}', 'invalid-payload', 'ticker'],
    ['a ticker with a zero-width space', '{"ticker":"AAPL\u200b","action":"buy"}', 'invalid-payload', 'ticker'],
    ['disagreeing aliases', '{"ticker":"A","symbol":"B","action":"buy"}', 'invalid-payload', 'ticker'],
    ['no action', '{"ticker":"A"}', 'invalid-action', 'action'],
    ['an unknown action', '{"ticker":"A","action":"hold"}', 'invalid-action', 'action'],
    ['a numeric action', '{"ticker":"A","action":1}', 'invalid-action', 'action'],
    ['a prototype member as action', '{"ticker":"A","action":"constructor"}', 'invalid-action', 'action'],
    ['disagreeing actions', '{"ticker":"A","action":"buy","Action":"sell"}', 'invalid-payload', 'action'],
    ['an unknown sentiment', '{"ticker":"A","action":"buy","sentiment":"neutral"}', 'invalid-sentiment', 'sentiment'],
    ['buy with short', '{"ticker":"A","action":"buy","sentiment":"short"}', 'invalid-sentiment', 'sentiment'],
    ['sell with bullish', '{"ticker":"A","action":"sell","sentiment":"bullish"}', 'invalid-sentiment', 'sentiment'],
    ['exit with a sentiment', '{"ticker":"A","action":"exit","sentiment":"flat"}', 'invalid-sentiment', 'sentiment'],
    ['a word as quantity', '{"ticker":"A","action":"buy","quantity":"ten"}', 'invalid-quantity', 'quantity'],
    ['a zero quantity', '{"ticker":"A","action":"buy","quantity":0}', 'invalid-quantity', 'quantity'],
    ['a negative qty', '{"ticker":"A","action":"buy","qty":"-1"}', 'invalid-quantity', 'quantity'],
    ['NaN as text', '{"ticker":"A","action":"buy","quantity":"NaN"}', 'invalid-quantity', 'quantity'],
    ['a decimal comma', '{"ticker":"A","action":"buy","contracts":"1,5"}', 'invalid-quantity', 'quantity'],
    ['hex', '{"ticker":"A","action":"buy","quantity":"0x10"}', 'invalid-quantity', 'quantity'],
    ['units', '{"ticker":"A","action":"buy","quantity":"10 lots"}', 'invalid-quantity', 'quantity'],
    ['a boolean quantity', '{"ticker":"A","action":"buy","quantity":true}', 'invalid-quantity', 'quantity'],
    ['an object quantity', '{"ticker":"A","action":"buy","quantity":{}}', 'invalid-quantity', 'quantity'],
    ['a huge quantity', '{"ticker":"A","action":"buy","quantity":1e13}', 'invalid-quantity', 'quantity'],
    ['a huge exponent', '{"ticker":"A","action":"buy","quantity":"1e999999999"}', 'invalid-quantity', 'quantity'],
    ['too many decimals', '{"ticker":"A","action":"buy","quantity":1e-19}', 'invalid-quantity', 'quantity'],
    [
      'a word as positionSize',
      '{"ticker":"A","action":"buy","position_size":"flat"}',
      'invalid-quantity',
      'positionSize',
    ],
    [
      'an unknown quantityType',
      '{"ticker":"A","action":"buy","quantityType":"lots"}',
      'invalid-payload',
      'quantityType',
    ],
    ['an unknown orderType', '{"ticker":"A","action":"buy","orderType":"twap"}', 'invalid-payload', 'orderType'],
    ['a negative limitPrice', '{"ticker":"A","action":"buy","limitPrice":-1}', 'invalid-payload', 'limitPrice'],
    ['a zero stopPrice', '{"ticker":"A","action":"buy","stopPrice":"0"}', 'invalid-payload', 'stopPrice'],
    [
      'an unknown timeInForce',
      '{"ticker":"A","action":"buy","timeInForce":"forever"}',
      'invalid-payload',
      'timeInForce',
    ],
    ['a text takeProfit', '{"ticker":"A","action":"buy","takeProfit":"5"}', 'invalid-payload', 'takeProfit'],
    [
      'a bad takeProfit percent',
      '{"ticker":"A","action":"buy","takeProfit":{"percent":"x"}}',
      'invalid-payload',
      'takeProfit.percent',
    ],
    [
      'two takeProfit kinds',
      '{"ticker":"A","action":"buy","takeProfit":{"percent":1,"amount":2}}',
      'invalid-payload',
      'takeProfit',
    ],
    [
      'a stopLoss with only a limit',
      '{"ticker":"A","action":"buy","stopLoss":{"limitPrice":1}}',
      'invalid-payload',
      'stopLoss',
    ],
    ['a negative price', '{"ticker":"A","action":"buy","price":"-189.43"}', 'invalid-payload', 'price'],
    ['a time without a zone', '{"ticker":"A","action":"buy","time":"2025-01-15T14:30:05"}', 'invalid-payload', 'time'],
    [
      'a date that does not exist',
      '{"ticker":"A","action":"buy","time":"2025-02-30T00:00:00Z"}',
      'invalid-payload',
      'time',
    ],
    ['a bad zone', '{"ticker":"A","action":"buy","time":"2025-01-15T14:30:05+25:00"}', 'invalid-payload', 'time'],
    ['a time in words', '{"ticker":"A","action":"buy","time":"yesterday"}', 'invalid-payload', 'time'],
    ['an epoch before 2000', '{"ticker":"A","action":"buy","time":0}', 'invalid-payload', 'time'],
    ['a boolean comment', '{"ticker":"A","action":"buy","comment":false}', 'invalid-payload', 'comment'],
    [
      'an over-long key',
      `{"ticker":"A","action":"buy","eventId":"${'k'.repeat(256)}"}`,
      'invalid-payload',
      'idempotencyKey',
    ],
    ['a key with a newline', '{"ticker":"A","action":"buy","signalId":"a\\nb"}', 'invalid-payload', 'idempotencyKey'],
  ])('refuses %s', (_name, body, code, field) => {
    const result = normalizeText(body);
    expect(result).toMatchObject({ ok: false, code });
    if (result.ok) return;
    expect(result.field).toBe(field);
    expect(result.message.length).toBeGreaterThan(10);
    expect(SIGNAL_REJECTION_CODES).toContain(result.code);
  });

  it('names the key as sent and what it got, briefly', () => {
    expect(normalize({ qty: 'ten' })).toMatchObject({ message: expect.stringMatching(/`qty`.*"ten"/) });
    const long = normalize({ quantity: 'x'.repeat(1000) });
    expect(long.ok || long.message.length).toBeLessThan(200);
  });

  it('reports the first problem in field order', () => {
    expect(normalizeText('{"action":"hold","quantity":"x"}')).toMatchObject({ code: 'missing-ticker' });
    expect(normalizeText('{"ticker":"A","action":"hold","quantity":"x"}')).toMatchObject({ code: 'invalid-action' });
  });
});
