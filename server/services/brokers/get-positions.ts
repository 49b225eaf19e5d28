import type { BrokerRegistry } from '../../brokers/registry.ts';
import type { BrokerPosition } from '../../brokers/types.ts';
import type { ServiceContext } from '../context.ts';
import { openConnectionAdapter } from './connection-adapter.ts';

/** The positions the broker holds right now for one of the caller's connections, through its breaker. */
export async function getBrokerPositions(
  ctx: ServiceContext,
  registry: BrokerRegistry,
  connectionId: number,
): Promise<BrokerPosition[]> {
  const { adapter } = await openConnectionAdapter(ctx, registry, connectionId);
  return adapter.getPositions();
}
