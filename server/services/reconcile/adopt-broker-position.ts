/**
 * brokers.adoptBrokerPosition ("adopt broker truth"): after a reconciliation found that the broker holds something
 * else than Fillpath on a symbol, the owner may make the books agree. One strategy takes the whole difference: its
 * position becomes what the broker holds beyond the other strategies' positions (adjust-books.ts keeps its trades
 * consistent), audited with the before and after. Refused when it cannot be attributed: orders on the symbol still
 * working (their fills would count twice), several strategies that could take it and none named, or a result that
 * would leave the strategy on the other side of the broker's position.
 */
import { Big } from 'big.js';
import { and, eq, inArray } from 'drizzle-orm';
import { brokerOrders } from '#drizzle/schema/broker_orders.ts';
import { openPositions } from '#drizzle/schema/open_positions.ts';
import { routingRules } from '#drizzle/schema/routing_rules.ts';
import { strategies } from '#drizzle/schema/strategies.ts';
import type { AdoptBrokerPositionInput, AdoptBrokerPositionResult } from '#shared/schemas/brokers.ts';
import { emitAudit } from '../../audit/emit.ts';
import type { BrokerRegistry } from '../../brokers/registry.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import { type DbOrTx, withTransaction } from '../../db/transaction.ts';
import { openConnectionAdapter } from '../brokers/connection-adapter.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { NotFound, Precondition } from '../errors.ts';
import { instrumentOnBroker } from '../execution/instruments.ts';
import { canonical } from '../execution/position-math.ts';
import { invalidatePortfolio } from '../portfolio/invalidation.ts';
import { adjustPosition } from './adjust-books.ts';
import { symbolKey } from './compare.ts';
import { WORKING_ORDER_STATUSES } from './local-books.ts';

export async function adoptBrokerPosition(
  ctx: ServiceContext,
  registry: BrokerRegistry,
  input: AdoptBrokerPositionInput,
): Promise<AdoptBrokerPositionResult> {
  const { connection, adapter } = await openConnectionAdapter(ctx, registry, input.connectionId);
  const key = symbolKey(input.symbol);
  await refuseWhileOrdersWork(ctx.db, connection.id, key, input.symbol);
  // The broker call happens before the transaction: no lock is held across the network.
  const atBroker = (await adapter.getPositions()).filter((p) => symbolKey(p.symbol) === key);
  const brokerQuantity = canonical(atBroker.reduce((sum, p) => sum.plus(p.quantity), new Big(0)).toFixed());
  const brokerAvg = atBroker.find((p) => new Big(p.avgEntryPrice).gt(0))?.avgEntryPrice ?? null;

  const adopted = await withTransaction(ctx, async (tx) => {
    const candidates = (
      await tx
        .select({ id: openPositions.id, symbol: openPositions.symbol })
        .from(openPositions)
        .where(eq(openPositions.brokerConnectionId, connection.id))
    ).filter((row) => symbolKey(row.symbol) === key);
    const rows =
      candidates.length === 0
        ? []
        : await tx
            .select()
            .from(openPositions)
            .where(
              inArray(
                openPositions.id,
                candidates.map((row) => row.id),
              ),
            )
            .for('update');
    await refuseWhileOrdersWork(tx, connection.id, key, input.symbol);
    const signed = (row: (typeof rows)[number]) => new Big(row.quantity).times(row.side === 'short' ? -1 : 1);
    const holders = rows.filter((row) => !signed(row).eq(0));
    const localTotal = holders.reduce((sum, row) => sum.plus(signed(row)), new Big(0));
    if (localTotal.eq(brokerQuantity)) {
      throw new Precondition(`Fillpath already agrees with the broker on ${input.symbol}: ${brokerQuantity}`);
    }

    const strategyId = await chooseStrategy(tx, ctx, connection.id, holders, input);
    const own = rows.find((row) => row.strategyId === strategyId);
    const others = holders
      .filter((row) => row.strategyId !== strategyId)
      .reduce((sum, row) => sum.plus(signed(row)), new Big(0));
    const target = new Big(brokerQuantity).minus(others);
    if (!target.eq(0) && (target.gt(0) !== new Big(brokerQuantity).gt(0) || new Big(brokerQuantity).eq(0))) {
      throw new Precondition(
        `Other strategies hold ${canonical(others.toFixed())} ${input.symbol} and the broker ${brokerQuantity}: ` +
          'no position of this strategy explains the difference',
      );
    }
    const symbol = own?.symbol ?? holders[0]?.symbol ?? atBroker[0]?.symbol ?? input.symbol;
    const spec = await instrumentOnBroker(tx, connection.broker, symbol);
    const adjusted = await adjustPosition(tx, {
      userId: connection.userId,
      strategyId,
      connectionId: connection.id,
      symbol,
      target: target.toFixed(),
      entryPrice: brokerAvg ?? (own ? canonical(own.avgEntryPrice) : '0'),
      multiplier: spec.multiplier,
      at: new Date(),
    });
    await emitAudit(tx, ctx, {
      action: 'open_position.adopt_broker',
      resourceType: 'open_position',
      resourceId: adjusted.positionId,
      oldValue: {
        strategyId,
        brokerConnectionId: connection.id,
        symbol,
        quantity: adjusted.before,
        avgEntryPrice: adjusted.avgEntryBefore,
        connectionTotal: canonical(localTotal.toFixed()),
      },
      newValue: { quantity: adjusted.after, avgEntryPrice: adjusted.avgEntryAfter, brokerQuantity },
    });
    ctx.log.info({ connectionId: connection.id, strategyId, symbol }, 'position adopted from the broker');
    return {
      connectionId: connection.id,
      strategyId,
      symbol,
      brokerQuantity,
      previousQuantity: adjusted.before,
      quantity: adjusted.after,
    };
  });
  invalidatePortfolio(connection.userId);
  return adopted;
}

async function refuseWhileOrdersWork(db: DbOrTx, connectionId: number, key: string, shown: string): Promise<void> {
  const working = await db
    .select({ symbol: brokerOrders.brokerSymbol })
    .from(brokerOrders)
    .where(
      and(eq(brokerOrders.brokerConnectionId, connectionId), inArray(brokerOrders.status, WORKING_ORDER_STATUSES)),
    );
  if (working.some((order) => symbolKey(order.symbol) === key)) {
    throw new Precondition(`Orders on ${shown} are still working; adopt the broker's position once they are final`);
  }
}

/** The named strategy (the caller's, holding the symbol or routed to the connection), else the only candidate. */
async function chooseStrategy(
  tx: DbOrTx,
  ctx: ServiceContext,
  connectionId: number,
  holders: Array<{ strategyId: number }>,
  input: AdoptBrokerPositionInput,
): Promise<number> {
  const routed = await tx
    .selectDistinct({ strategyId: routingRules.strategyId })
    .from(routingRules)
    .innerJoin(strategies, eq(strategies.id, routingRules.strategyId))
    .where(
      and(
        eq(routingRules.brokerConnectionId, connectionId),
        eq(strategies.userId, actingUserId(ctx)),
        notDeleted(routingRules),
        notDeleted(strategies),
      ),
    );
  const holding = [...new Set(holders.map((row) => row.strategyId))];
  if (input.strategyId !== undefined) {
    const eligible = holding.includes(input.strategyId) || routed.some((r) => r.strategyId === input.strategyId);
    if (!eligible) throw new NotFound('Strategy');
    return input.strategyId;
  }
  if (holding.length === 1 && holding[0] !== undefined) return holding[0];
  if (holding.length === 0 && routed.length === 1 && routed[0]) return routed[0].strategyId;
  const count = holding.length > 1 ? holding.length : routed.length;
  throw new Precondition(
    count === 0
      ? `No strategy of this connection can take ${input.symbol}; name one (strategyId)`
      : `${count} strategies could take the difference on ${input.symbol}; name the one that should (strategyId)`,
  );
}
