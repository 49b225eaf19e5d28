/**
 * The pure half of TradingView ingestion (SPEC §4 steps 2–3): body text → JSON value → normalized Signal. No I/O,
 * never throws: every outcome is a result object the route turns into an answer and a webhook log.
 */
import { JsonNumber, type JsonObject, type JsonRepair, type JsonValue, readJson } from './json.ts';

export { JsonNumber, type JsonObject, type JsonValue, MAX_JSON_DEPTH } from './json.ts';
export { extractPassphrase, type NormalizeResult, normalizeSignal } from './normalize.ts';

/** What `parseAlertBody` changed to read the body, in a stable order; empty for a body that was already JSON. */
export type BodyRepair = JsonRepair | 'default-strategy-message';

/** Where a body stops making sense: offset in UTF-16 code units of the raw text, line and column from 1. */
export interface BodyPosition {
  offset: number;
  line: number;
  column: number;
}

export type ParseBodyResult =
  | { ok: true; value: JsonValue; repaired: BodyRepair[] }
  | { ok: false; code: 'malformed-payload'; message: string; position?: BodyPosition };

/**
 * TradingView's message when a strategy alert has none of its own:
 * `{{strategy.order.action}} @ {{strategy.order.contracts}} filled on {{ticker}}. New strategy position is
 * {{strategy.position_size}}`. The ticker is the shortest run of non-spaces before `. New`, so `BRK.B` survives.
 */
const DEFAULT_STRATEGY_MESSAGE =
  /^(buy|sell)\s+@\s+(\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s+filled\s+on\s+(\S+?)\.\s+new\s+strategy\s+position\s+is\s+(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\.?$/i;

/** `LicenseID,command,SYMBOL,…`: recognised only to say why it is refused. */
const PINECONNECTOR = /^\s*\d{6,}\s*,\s*[a-z-]+\s*,/i;

/**
 * Reads an alert body as JSON whatever its content type says (TradingView sends text/plain as soon as one character
 * is not JSON), repairing only what has a single reading, or as TradingView's default strategy message. The content
 * type only shapes the error message. The value's objects have null prototypes and its numbers are JsonNumber.
 */
export function parseAlertBody(raw: string, contentType: string | undefined): ParseBodyResult {
  const text = typeof raw === 'string' ? raw : '';
  const prose = defaultStrategyMessage(text);
  if (prose) return { ok: true, value: prose, repaired: ['default-strategy-message'] };

  const result = readJson(text);
  if (result.ok) return { ok: true, value: result.value, repaired: result.repairs };

  if (text.trim() === '') {
    return { ok: false, code: 'malformed-payload', message: 'the body is empty: the alert message must be JSON' };
  }
  const position = positionOf(text, result.offset);
  const hint = PINECONNECTOR.test(text)
    ? ' (this looks like a PineConnector command; Fillpath expects a JSON object)'
    : looksLikeJson(text)
      ? ''
      : " (the body must be a JSON object or TradingView's default strategy message)";
  const type = contentType ? ` (${mediaType(contentType)})` : '';
  return {
    ok: false,
    code: 'malformed-payload',
    message: `the body${type} is not valid JSON: ${result.message} at line ${position.line}, column ${position.column}${hint}`,
    position,
  };
}

function defaultStrategyMessage(text: string): JsonObject | undefined {
  // Cheap gate first: a JSON body never gets near the regex.
  if (text.length > 300) return undefined;
  const match = DEFAULT_STRATEGY_MESSAGE.exec(text.trim());
  if (!match) return undefined;
  const [, action = '', contracts = '', ticker = '', position = ''] = match;
  const value: JsonObject = Object.create(null);
  value.action = action.toLowerCase();
  value.quantity = new JsonNumber(contracts);
  value.ticker = ticker;
  // The strategy's new signed position is a target: it survives a missed or repeated alert (TRADINGVIEW.md §3.4).
  value.positionSize = new JsonNumber(position);
  return value;
}

function looksLikeJson(text: string): boolean {
  const first = text.trim().codePointAt(0);
  return (
    first === 0x7b || first === 0x5b || first === 0x22 || (first !== undefined && first >= 0x201c && first <= 0x201f)
  );
}

function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase().slice(0, 60) || 'no content type';
}

export function positionOf(text: string, offset: number): BodyPosition {
  const at = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < at; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { offset: at, line, column: at - lineStart + 1 };
}
