import { inArray } from 'drizzle-orm';
import { instruments } from '#drizzle/schema/instruments.ts';
import type { AssetClass, Broker } from '#shared/enums.ts';
import type { DbOrTx } from '../../db/transaction.ts';
import { canonical } from './position-math.ts';

export interface InstrumentSpec {
  /** Currency value of a one-point move per unit (ES 50). */
  multiplier: string;
  lotSize: string;
  tickSize: string;
  assetClass: AssetClass;
}

/** What a symbol without an instrument row trades like: a US equity (one share, cent ticks). */
export const EQUITY_SPEC: InstrumentSpec = { multiplier: '1', lotSize: '1', tickSize: '0.01', assetClass: 'equity' };

/** The longest root the column can hold (instruments.root is varchar(16)). */
const MAX_ROOT_LENGTH = 16;

/**
 * What may follow a root in a futures symbol: nothing (ES), a month code and year (MNQZ5, ESH26, CLZ2025), or a
 * continuous-contract suffix (MNQ1!). Anything else means the prefix match is a coincidence: ESTC is Elastic, not an
 * E-mini, and CLX is Clorox, not crude oil, so they must not inherit a multiplier of 50 or 1000.
 */
const CONTRACT_SUFFIX = /^(?:[FGHJKMNQUVXZ]\d{1,4}|\d{1,2}!)?$/;

/**
 * The contract specification of a broker symbol: the instrument whose root is the longest prefix of the symbol
 * (MNQZ5 → MNQ, ES → ES). Symbols with no such root trade as equities (EQUITY_SPEC). One indexed lookup:
 * every prefix of the symbol is a candidate for the unique `root` key.
 */
export async function instrumentFor(db: DbOrTx, brokerSymbol: string): Promise<InstrumentSpec> {
  const symbol = brokerSymbol.trim().toUpperCase();
  const prefixes: string[] = [];
  for (let length = Math.min(symbol.length, MAX_ROOT_LENGTH); length >= 1; length--) {
    if (CONTRACT_SUFFIX.test(symbol.slice(length))) prefixes.push(symbol.slice(0, length));
  }
  if (prefixes.length === 0) return EQUITY_SPEC;
  const rows = await db
    .select({
      root: instruments.root,
      multiplier: instruments.multiplier,
      lotSize: instruments.lotSize,
      tickSize: instruments.tickSize,
      assetClass: instruments.assetClass,
    })
    .from(instruments)
    .where(inArray(instruments.root, prefixes));
  const best = rows.sort((a, b) => b.root.length - a.root.length)[0];
  if (!best) return EQUITY_SPEC;
  return {
    multiplier: canonical(best.multiplier),
    lotSize: canonical(best.lotSize),
    tickSize: canonical(best.tickSize),
    assetClass: best.assetClass,
  };
}

/**
 * The contract a symbol is on a given broker: Alpaca trades no futures, so its symbols are shares (or crypto) even
 * where they spell a futures root — ES is Eversource Energy there, CL is Colgate, not crude oil at 1000. The engine
 * sizes orders and the books value fills with this one rule.
 */
export function instrumentOnBroker(db: DbOrTx, broker: Broker, brokerSymbol: string): Promise<InstrumentSpec> {
  return broker === 'alpaca' ? Promise.resolve(EQUITY_SPEC) : instrumentFor(db, brokerSymbol);
}
