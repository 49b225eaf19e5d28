/**
 * The CSV rules of `npm run benchmarks:import` (scripts/benchmarks/csv.ts): which files are accepted, and that every
 * bad row is reported with its line number and a reason a person can act on.
 */
import { describe, expect, it } from 'vitest';
import { parseBenchmarksCsv, parseClose, splitCsvLine } from '../../scripts/benchmarks/csv.ts';

describe('parseBenchmarksCsv', () => {
  it('reads date,close rows with --symbol, with or without a header', () => {
    const withHeader = parseBenchmarksCsv('date,close\n2024-01-02,472.65\n2024-01-03,468.79\n', { symbol: 'spy' });
    const without = parseBenchmarksCsv('2024-01-02,472.65\n2024-01-03,468.79', { symbol: 'SPY' });
    const expected = [
      { line: 2, symbol: 'SPY', date: '2024-01-02', close: '472.65' },
      { line: 3, symbol: 'SPY', date: '2024-01-03', close: '468.79' },
    ];
    expect(withHeader).toEqual({ rows: expected, errors: [] });
    expect(without.rows.map(({ line, ...row }) => ({ line: line + 1, ...row }))).toEqual(expected);
  });

  it('takes the symbol from a symbol column, in any column order, ignoring extra columns', () => {
    const text = 'Close,Symbol,Volume,Date\n100.5,qqq,123,2024-03-01\n200,SPY,456,2024-03-01\n';
    expect(parseBenchmarksCsv(text).rows).toEqual([
      { line: 2, symbol: 'QQQ', date: '2024-03-01', close: '100.5' },
      { line: 3, symbol: 'SPY', date: '2024-03-01', close: '200' },
    ]);
  });

  it('reads a Yahoo-style export (BOM, CRLF, quoted fields, Adj Close beside Close)', () => {
    const text =
      '\uFEFFDate,Open,High,Low,Close,Adj Close,Volume\r\n"2024-01-02","476.25","476.36","470.18","472.65","466.41","123623700"\r\n\r\n';
    expect(parseBenchmarksCsv(text, { symbol: '^GSPC' })).toEqual({
      rows: [{ line: 2, symbol: '^GSPC', date: '2024-01-02', close: '472.65' }],
      errors: [],
    });
  });

  it('reports every bad row with its line and reason', () => {
    const text = [
      'date,close',
      '2024-01-02,472.65',
      '2024-02-30,470',
      '02/01/2024,470',
      '2024-01-05,-1',
      '2024-01-08,0.000',
      '2024-01-09,null',
      '2024-01-10,1e3',
      '2024-01-11,1,234.50',
      '2024-01-12',
      '2024-01-02,473',
      '2024-01-16,1234567890123',
      '2024-01-17,1.123456789',
    ].join('\n');
    const { rows, errors } = parseBenchmarksCsv(text, { symbol: 'SPY' });
    expect(rows.map((row) => row.line)).toEqual([2]);
    expect(errors).toEqual([
      { line: 3, reason: 'date "2024-02-30" is not a real day' },
      { line: 4, reason: 'date "02/01/2024" is not in YYYY-MM-DD form' },
      { line: 5, reason: 'close "-1" is negative' },
      { line: 6, reason: 'close "0.000" is not greater than 0' },
      { line: 7, reason: 'close "null" is not a decimal number (digits and an optional "." only)' },
      { line: 8, reason: 'close "1e3" is not a decimal number (digits and an optional "." only)' },
      { line: 9, reason: 'expected 2 columns, found 3 (quote a value that contains a comma)' },
      { line: 10, reason: 'expected 2 columns, found 1' },
      { line: 11, reason: 'SPY 2024-01-02 already appears on line 2' },
      { line: 12, reason: 'close "1234567890123" has over 12 integer digits or 8 decimals' },
      { line: 13, reason: 'close "1.123456789" has over 12 integer digits or 8 decimals' },
    ]);
  });

  it('asks for a close without thousands separators', () => {
    expect(parseBenchmarksCsv('2024-01-11,"1,234.50"', { symbol: 'SPY' }).errors).toEqual([
      { line: 1, reason: 'close "1,234.50" has a thousands separator: write it without (1234.50)' },
    ]);
  });

  it('says what is missing when the file has no usable shape', () => {
    expect(parseBenchmarksCsv('').errors).toEqual([{ line: 0, reason: 'the file has no rows' }]);
    expect(parseBenchmarksCsv('date,close\n', { symbol: 'SPY' }).errors).toEqual([
      { line: 0, reason: 'the file has no data rows' },
    ]);
    expect(parseBenchmarksCsv('2024-01-02,472.65').errors).toEqual([
      { line: 0, reason: 'no symbol: pass --symbol <SYMBOL> or add a "symbol" column' },
    ]);
    expect(parseBenchmarksCsv('day,price\n2024-01-02,1').errors).toEqual([
      {
        line: 1,
        reason:
          'the first line is neither a header naming "date" and "close" nor a row with a YYYY-MM-DD date (found: day, price)',
      },
    ]);
    expect(parseBenchmarksCsv('2024-01-02,SPY,1,2').errors).toEqual([
      { line: 1, reason: 'without a header the columns must be "date,close" or "symbol,date,close" (found 4 columns)' },
    ]);
    expect(parseBenchmarksCsv('Date,Open\n2024-01-02,1').errors).toEqual([
      { line: 1, reason: 'the header must name a "date" and a "close" column (found: Date, Open)' },
    ]);
    expect(parseBenchmarksCsv('2024-01-02,1', { symbol: 'S P Y' }).errors[0]).toEqual({
      line: 0,
      reason: '--symbol "S P Y" is not a symbol (letters, digits, . ^ = -)',
    });
  });

  it('fills an empty symbol cell from --symbol, and refuses it without one', () => {
    const text = 'symbol,date,close\n,2024-01-02,10\n';
    expect(parseBenchmarksCsv(text, { symbol: 'SPY' }).rows).toEqual([
      { line: 2, symbol: 'SPY', date: '2024-01-02', close: '10' },
    ]);
    expect(parseBenchmarksCsv(text).errors).toEqual([
      { line: 2, reason: 'symbol is empty (and no --symbol was given)' },
    ]);
  });
});

describe('parseClose', () => {
  it.each([
    ['472.65', '472.65'],
    ['0472.650', '472.65'],
    ['5', '5'],
    ['0.00000001', '0.00000001'],
    ['999999999999.99999999', '999999999999.99999999'],
  ])('%s is %s', (text, close) => {
    expect(parseClose(text)).toEqual({ close });
  });
});

describe('splitCsvLine', () => {
  it('keeps commas and doubled quotes inside quoted fields', () => {
    expect(splitCsvLine('"a,b", "say ""hi""" ,c')).toEqual(['a,b', 'say "hi"', 'c']);
  });
});
