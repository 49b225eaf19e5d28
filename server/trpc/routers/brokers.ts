import { z } from 'zod';
import {
  adoptBrokerPositionInput,
  adoptBrokerPositionResult,
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
  getReconciliationRunsInput,
  orderIdInput,
  reconcileInput,
  reconcileResult,
  reconciliationRunDetail,
  reconciliationRunIdInput,
  reconciliationRunPage,
  testConnectionResult,
  updateConnectionInput,
} from '#shared/schemas/brokers.ts';
import { connect } from '../../services/brokers/connections/connect.ts';
import { disconnect } from '../../services/brokers/connections/disconnect.ts';
import { getConnections } from '../../services/brokers/connections/list.ts';
import { updateConnection } from '../../services/brokers/connections/update.ts';
import { getBrokerPositions } from '../../services/brokers/get-positions.ts';
import { syncConnectionSession } from '../../services/brokers/sessions/schedules.ts';
import { testConnection } from '../../services/brokers/test-connection.ts';
import { cancelOwnOrder } from '../../services/orders/cancel.ts';
import { listOrders } from '../../services/orders/list.ts';
import { adoptBrokerPosition } from '../../services/reconcile/adopt-broker-position.ts';
import { getReconciliationRun, listReconciliationRuns } from '../../services/reconcile/list-runs.ts';
import { requestReconcile } from '../../services/reconcile/request-run.ts';
import { syncConnectionSchedule } from '../../services/reconcile/schedules.ts';
import { serviceContext, type TrpcContext } from '../context.ts';
import { protectedProcedure, router } from '../init.ts';

/** A connection changed (created, new credentials, tested, disconnected): its schedulers follow. */
async function afterConnectionChange<T>(ctx: TrpcContext, connectionId: number, result: T): Promise<T> {
  await syncConnectionSchedule(serviceContext(ctx), ctx.deps.reconcileSchedules, connectionId);
  await syncConnectionSession(serviceContext(ctx), ctx.deps.sessionSchedules, connectionId);
  return result;
}

// Output schemas list only safe fields: credentials can never leave through an answer, whatever a verb returns.
export const brokersRouter = router({
  getConnections: protectedProcedure
    .input(getConnectionsInput)
    .output(connectionPage)
    .query(({ ctx, input }) => getConnections(serviceContext(ctx), input)),
  connect: protectedProcedure
    .input(connectInput)
    .output(connectionView)
    .mutation(async ({ ctx, input }) => {
      const connection = await connect(serviceContext(ctx), input);
      return afterConnectionChange(ctx, connection.id, connection);
    }),
  updateConnection: protectedProcedure
    .input(updateConnectionInput)
    .output(connectionView)
    .mutation(async ({ ctx, input }) =>
      afterConnectionChange(ctx, input.id, await updateConnection(serviceContext(ctx), input)),
    ),
  disconnect: protectedProcedure
    .input(connectionIdInput)
    .output(z.object({ ok: z.literal(true), routingRulesDeactivated: z.number() }))
    .mutation(async ({ ctx, input }) =>
      afterConnectionChange(ctx, input.id, await disconnect(serviceContext(ctx), input.id)),
    ),
  testConnection: protectedProcedure
    .meta({ rateClass: 'broker' })
    .input(connectionIdInput)
    .output(testConnectionResult)
    .mutation(async ({ ctx, input }) => {
      try {
        return await testConnection(serviceContext(ctx), ctx.deps.brokers, input.id);
      } finally {
        // A test records the connection's status either way: usable again, or expired.
        await afterConnectionChange(ctx, input.id, null);
      }
    }),
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
  reconcile: protectedProcedure
    .meta({ rateClass: 'broker' })
    .input(reconcileInput)
    .output(reconcileResult)
    .mutation(({ ctx, input }) => requestReconcile(serviceContext(ctx), ctx.deps.enqueueReconcile, input.connectionId)),
  getReconciliationRuns: protectedProcedure
    .input(getReconciliationRunsInput)
    .output(reconciliationRunPage)
    .query(({ ctx, input }) => listReconciliationRuns(serviceContext(ctx), input)),
  getReconciliationRun: protectedProcedure
    .input(reconciliationRunIdInput)
    .output(reconciliationRunDetail)
    .query(({ ctx, input }) => getReconciliationRun(serviceContext(ctx), input.id)),
  adoptBrokerPosition: protectedProcedure
    .meta({ rateClass: 'broker' })
    .input(adoptBrokerPositionInput)
    .output(adoptBrokerPositionResult)
    .mutation(({ ctx, input }) => adoptBrokerPosition(serviceContext(ctx), ctx.deps.brokers, input)),
});
