/**
 * The comparison at the heart of reconciliation (SPEC §7), pure: what the broker holds per symbol against the sum of
 * the connection's local positions, and which orders are involved where they differ. Quantities are signed exact
 * decimal strings (negative = short), compared with big.js.
 */
import { Big } from 'big.js';
import type { ReconciliationDiscrepancyView } from '#shared/schemas/brokers.ts';
import type { BrokerOrder, BrokerPosition } from '../../brokers/types.ts';
import { canonical } from '../execution/position-math.ts';

export type RunDiscrepancy = ReconciliationDiscrepancyView;

/** Why a discrepancy is not worth an alert yet: an order on its symbol was still on its way to the broker. */
export const IN_FLIGHT_NOTE = 'orders were being sent to the broker during the run';

/**
 * The key a symbol is compared under. Brokers spell some symbols differently in orders and positions (Alpaca's
 * `BTC/USD` order is a `BTCUSD` position) and case varies; both sides are matched under this key.
 */
export function symbolKey(symbol: string): string {
  return symbol.trim().toUpperCase().replaceAll('/', '');
}

/** One strategy's position on a symbol of the connection (signed). */
export interface LocalHolding {
  strategyId: number;
  symbol: string;
  quantity: string;
}

/** One of the connection's orders, as far as the comparison cares. */
export interface LocalOrder {
  id: number;
  brokerSymbol: string;
  brokerOrderId: string | null;
  status: string;
}

export interface ComparisonInput {
  brokerPositions: BrokerPosition[];
  brokerOpenOrders: BrokerOrder[];
  holdings: LocalHolding[];
  /** Orders still working after the refresh, and orders the run changed. */
  involvedOrders: LocalOrder[];
  /** Every broker order id of the connection Fillpath knows, among those the broker lists as open. */
  knownBrokerOrderIds: Set<string>;
}

/** One entry per symbol on which the two sides differ, ordered by symbol. */
export function comparePositions(input: ComparisonInput): RunDiscrepancy[] {
  const broker = sumBy(
    input.brokerPositions,
    (p) => p.symbol,
    (p) => p.quantity,
  );
  const local = sumBy(
    input.holdings,
    (h) => h.symbol,
    (h) => h.quantity,
  );
  const keys = [...new Set([...broker.keys(), ...local.keys()])].sort();
  const discrepancies: RunDiscrepancy[] = [];
  for (const key of keys) {
    const atBroker = broker.get(key)?.total ?? new Big(0);
    const here = local.get(key)?.total ?? new Big(0);
    if (atBroker.eq(here)) continue;
    const orders = input.involvedOrders.filter((order) => symbolKey(order.brokerSymbol) === key);
    // A `submitting` order may have reached the broker (and filled) before Fillpath learnt its broker id.
    const inFlight = orders.some((order) => order.status === 'submitting');
    discrepancies.push({
      symbol: local.get(key)?.symbol ?? broker.get(key)?.symbol ?? key,
      broker: canonical(atBroker.toFixed()),
      local: canonical(here.toFixed()),
      note: inFlight ? IN_FLIGHT_NOTE : null,
      strategies: input.holdings
        .filter((holding) => symbolKey(holding.symbol) === key)
        .map((holding) => ({ strategyId: holding.strategyId, quantity: canonical(holding.quantity) })),
      orderIds: orders.map((order) => order.id).sort((a, b) => a - b),
      brokerOrderIds: input.brokerOpenOrders
        .filter((order) => symbolKey(order.symbol) === key && !input.knownBrokerOrderIds.has(order.brokerOrderId))
        .map((order) => order.brokerOrderId),
    });
  }
  return discrepancies;
}

/**
 * What identifies a mismatch for alerting: the symbols and both quantities, without the orders (which change from
 * run to run while the mismatch stays the same). Discrepancies explained by orders in flight are left out.
 */
export function mismatchFingerprint(discrepancies: readonly RunDiscrepancy[]): string {
  return discrepancies
    .filter((d) => d.note !== IN_FLIGHT_NOTE)
    .map((d) => `${symbolKey(d.symbol)}=${canonical(d.broker)}/${canonical(d.local)}`)
    .sort()
    .join(';');
}

function sumBy<T>(
  items: readonly T[],
  symbolOf: (item: T) => string,
  quantityOf: (item: T) => string,
): Map<string, { symbol: string; total: Big }> {
  const sums = new Map<string, { symbol: string; total: Big }>();
  for (const item of items) {
    const key = symbolKey(symbolOf(item));
    const entry = sums.get(key) ?? { symbol: symbolOf(item), total: new Big(0) };
    entry.total = entry.total.plus(quantityOf(item));
    sums.set(key, entry);
  }
  return sums;
}
