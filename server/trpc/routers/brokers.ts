import { z } from 'zod';
import {
  brokerOrderPage,
  brokerPositionView,
  cancelOrderResult,
  connectInput,
  connectionIdInput,
  connectionPage,
  connectionView,
  getConnectionsInput,
  getOrdersInput,
  getPositionsInput,
  orderIdInput,
  testConnectionResult,
  updateConnectionInput,
} from '#shared/schemas/brokers.ts';
import { connect } from '../../services/brokers/connections/connect.ts';
import { disconnect } from '../../services/brokers/connections/disconnect.ts';
import { getConnections } from '../../services/brokers/connections/list.ts';
import { updateConnection } from '../../services/brokers/connections/update.ts';
import { getBrokerPositions } from '../../services/brokers/get-positions.ts';
import { testConnection } from '../../services/brokers/test-connection.ts';
import { cancelOwnOrder } from '../../services/orders/cancel.ts';
import { listOrders } from '../../services/orders/list.ts';
import { serviceContext } from '../context.ts';
import { protectedProcedure, router } from '../init.ts';

// Output schemas list only safe fields: credentials can never leave through an answer, whatever a verb returns.
export const brokersRouter = router({
  getConnections: protectedProcedure
    .input(getConnectionsInput)
    .output(connectionPage)
    .query(({ ctx, input }) => getConnections(serviceContext(ctx), input)),
  connect: protectedProcedure
    .input(connectInput)
    .output(connectionView)
    .mutation(({ ctx, input }) => connect(serviceContext(ctx), input)),
  updateConnection: protectedProcedure
    .input(updateConnectionInput)
    .output(connectionView)
    .mutation(({ ctx, input }) => updateConnection(serviceContext(ctx), input)),
  disconnect: protectedProcedure
    .input(connectionIdInput)
    .output(z.object({ ok: z.literal(true), routingRulesDeactivated: z.number() }))
    .mutation(({ ctx, input }) => disconnect(serviceContext(ctx), input.id)),
  testConnection: protectedProcedure
    .meta({ rateClass: 'broker' })
    .input(connectionIdInput)
    .output(testConnectionResult)
    .mutation(({ ctx, input }) => testConnection(serviceContext(ctx), ctx.deps.brokers, input.id)),
  getPositions: protectedProcedure
    .meta({ rateClass: 'broker' })
    .input(getPositionsInput)
    .output(z.array(brokerPositionView))
    .query(({ ctx, input }) => getBrokerPositions(serviceContext(ctx), ctx.deps.brokers, input.connectionId)),
  getOrders: protectedProcedure
    .input(getOrdersInput)
    .output(brokerOrderPage)
    .query(({ ctx, input }) => listOrders(serviceContext(ctx), input)),
  cancelOrder: protectedProcedure
    .meta({ rateClass: 'broker' })
    .input(orderIdInput)
    .output(cancelOrderResult)
    .mutation(({ ctx, input }) => cancelOwnOrder(serviceContext(ctx), ctx.deps, input.id)),
});
