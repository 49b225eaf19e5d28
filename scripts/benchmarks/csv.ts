/**
 * Benchmark closes from CSV, for `npm run benchmarks:import`: parsing and validation only, no I/O.
 *
 * Accepted layouts:
 * - a header row naming the columns (any order, case-blind): `date` and `close` are required, `symbol` is optional,
 *   other columns are ignored, so a Yahoo-style `Date,Open,High,Low,Close,Adj Close,Volume` export works as is;
 * - no header: `date,close`, or `symbol,date,close` with three columns.
 * Rows without a symbol take the one given with `--symbol`. Blank lines are skipped; a BOM, CRLF line ends and
 * double-quoted fields are fine.
 *
 * Every row is checked (as many fields as the header or first row, date a real `YYYY-MM-DD` day, close a positive
 * decimal that fits decimal(20,8), symbol present and well formed, no (symbol, date) twice) and every problem is reported with its line number, so a file
 * is fixed in one pass. The caller imports nothing unless `errors` is empty.
 */

export interface BenchmarkRow {
  /** 1-based line number in the file. */
  line: number;
  symbol: string;
  date: string;
  /** Canonical decimal text: no leading zeros, no trailing fractional zeros. */
  close: string;
}

export interface RowError {
  line: number;
  reason: string;
}

export interface ParsedBenchmarks {
  rows: BenchmarkRow[];
  errors: RowError[];
}

// The symbols portfolio.getStrategyDetail accepts as a benchmark (shared/schemas/portfolio.ts).
const SYMBOL = /^[A-Z0-9.^=-]{1,32}$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
// decimal(20,8): at most 12 integer digits and 8 decimals.
const DECIMAL = /^(\d{1,12})(?:\.(\d{1,8}))?$/;

/** Splits one CSV line; double-quoted fields may hold commas and doubled quotes. */
export function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (quoted) {
      if (char === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"' && field.trim() === '') {
      field = '';
      quoted = true;
    } else if (char === ',') {
      fields.push(field.trim());
      field = '';
    } else field += char;
  }
  fields.push(field.trim());
  return fields;
}

/** Why `text` is not a real calendar day in YYYY-MM-DD form, or null when it is one. */
export function dateProblem(text: string): string | null {
  const match = DATE.exec(text);
  if (!match) return `date "${text}" is not in YYYY-MM-DD form`;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (year < 1900 || date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return `date "${text}" is not a real day`;
  }
  return null;
}

/** The canonical text of a positive decimal(20,8), or the reason it is not one. */
export function parseClose(text: string): { close: string } | { problem: string } {
  const match = DECIMAL.exec(text);
  if (!match) {
    if (text === '') return { problem: 'close is empty' };
    if (/^-/.test(text)) return { problem: `close "${text}" is negative` };
    if (/^\d+(\.\d+)?$/.test(text)) return { problem: `close "${text}" has over 12 integer digits or 8 decimals` };
    if (/^\d{1,3}(,\d{3})+(\.\d+)?$/.test(text)) {
      return { problem: `close "${text}" has a thousands separator: write it without (${text.replaceAll(',', '')})` };
    }
    return { problem: `close "${text}" is not a decimal number (digits and an optional "." only)` };
  }
  const integer = (match[1] ?? '0').replace(/^0+(?=\d)/, '');
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (!/[1-9]/.test(integer + fraction)) return { problem: `close "${text}" is not greater than 0` };
  return { close: fraction ? `${integer}.${fraction}` : integer };
}

interface Layout {
  date: number;
  close: number;
  symbol: number | null;
  /** Whether the first non-blank line is the header. */
  header: boolean;
  /** Every row must have exactly this many fields: a stray comma would otherwise shift the close silently. */
  columns: number;
}

function layoutOf(first: string[]): Layout | RowError['reason'] {
  const names = first.map((name) => name.toLowerCase());
  if (names.includes('date') || names.includes('close')) {
    const date = names.indexOf('date');
    const close = names.indexOf('close');
    if (date < 0 || close < 0) return `the header must name a "date" and a "close" column (found: ${first.join(', ')})`;
    const symbol = names.indexOf('symbol');
    return { date, close, symbol: symbol < 0 ? null : symbol, header: true, columns: first.length };
  }
  if (!first.some((field) => DATE.test(field))) {
    return `the first line is neither a header naming "date" and "close" nor a row with a YYYY-MM-DD date (found: ${first.join(', ')})`;
  }
  if (first.length === 2) return { date: 0, close: 1, symbol: null, header: false, columns: 2 };
  if (first.length === 3) return { symbol: 0, date: 1, close: 2, header: false, columns: 3 };
  return `without a header the columns must be "date,close" or "symbol,date,close" (found ${first.length} columns)`;
}

export function parseBenchmarksCsv(text: string, options: { symbol?: string } = {}): ParsedBenchmarks {
  const defaultSymbol = options.symbol?.trim().toUpperCase();
  const errors: RowError[] = [];
  const rows: BenchmarkRow[] = [];
  if (defaultSymbol !== undefined && !SYMBOL.test(defaultSymbol)) {
    errors.push({ line: 0, reason: `--symbol "${options.symbol}" is not a symbol (letters, digits, . ^ = -)` });
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const firstIndex = lines.findIndex((line) => line.trim() !== '');
  if (firstIndex < 0) return { rows, errors: [...errors, { line: 0, reason: 'the file has no rows' }] };

  const layout = layoutOf(splitCsvLine(lines[firstIndex] ?? ''));
  if (typeof layout === 'string') return { rows, errors: [...errors, { line: firstIndex + 1, reason: layout }] };
  if (layout.symbol === null && defaultSymbol === undefined) {
    errors.push({ line: 0, reason: 'no symbol: pass --symbol <SYMBOL> or add a "symbol" column' });
  }
  const seen = new Map<string, number>();

  for (let index = layout.header ? firstIndex + 1 : firstIndex; index < lines.length; index++) {
    const raw = lines[index] ?? '';
    if (raw.trim() === '') continue;
    const line = index + 1;
    const fields = splitCsvLine(raw);
    if (fields.length !== layout.columns) {
      const hint = fields.length > layout.columns ? ' (quote a value that contains a comma)' : '';
      errors.push({ line, reason: `expected ${layout.columns} columns, found ${fields.length}${hint}` });
      continue;
    }
    const problems: string[] = [];
    const cell = layout.symbol === null ? '' : (fields[layout.symbol] ?? '').toUpperCase();
    const symbol = cell || defaultSymbol || '';
    if (layout.symbol !== null && !symbol) problems.push('symbol is empty (and no --symbol was given)');
    else if (symbol && !SYMBOL.test(symbol)) problems.push(`symbol "${symbol}" is not a symbol`);
    const date = fields[layout.date] ?? '';
    const dateIssue = dateProblem(date);
    if (dateIssue) problems.push(dateIssue);
    const close = parseClose(fields[layout.close] ?? '');
    if ('problem' in close) problems.push(close.problem);
    if (problems.length > 0) {
      errors.push({ line, reason: problems.join('; ') });
      continue;
    }
    const key = `${symbol}|${date}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      errors.push({ line, reason: `${symbol} ${date} already appears on line ${earlier}` });
      continue;
    }
    seen.set(key, line);
    if ('close' in close && symbol) rows.push({ line, symbol, date, close: close.close });
  }
  if (rows.length === 0 && errors.length === 0) errors.push({ line: 0, reason: 'the file has no data rows' });
  return { rows, errors };
}
