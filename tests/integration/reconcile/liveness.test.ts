/**
 * A reconciliation run proves it is alive while it works (heartbeat every 200 ms here, stale after 1 s): a run held
 * by a slow broker far beyond the stale threshold keeps its connection, and a run whose worker process was SIGKILLed
 * mid-run is closed as interrupted by the next run of its connection within seconds, not minutes.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RUN_INTERRUPTED } from '../../../server/services/reconcile/runs.ts';
import { waitFor } from '../../helpers/app.ts';
import { setupAlpacaStrategy } from '../../helpers/execution.ts';
import { startWorkerProcess, type WorkerProcess } from '../../helpers/worker-process.ts';
import { type ReconcileHarness, type RunView, startReconcileHarness } from './harness.ts';

const LIVENESS = { heartbeatMs: 200, staleAfterMs: 1_000 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let harness: ReconcileHarness;
let child: WorkerProcess | undefined;
beforeAll(async () => {
  harness = await startReconcileHarness({ liveness: LIVENESS });
});
afterAll(async () => {
  await child?.kill();
  await harness.close();
});
beforeEach(() => {
  harness.alpaca.controls.reset();
  harness.alpaca.controls.setPrice('AAPL', '100');
});

async function runsOf(routed: Awaited<ReturnType<typeof setupAlpacaStrategy>>): Promise<RunView[]> {
  const page = await routed.trader.client.brokers.getReconciliationRuns.query({ connectionId: routed.connectionId });
  return page.items;
}

/** Resolves once the fake holds the positions request its fault was set for. */
async function positionsHeld() {
  await waitFor(async () => harness.alpaca.controls.listFaults().length === 0, 15_000, 25);
}

describe('a run held by a slow broker', () => {
  it('keeps its connection past the stale threshold: the next run is skipped and exactly one completes', async () => {
    const routed = await setupAlpacaStrategy(harness);
    harness.alpaca.controls.delayNext(LIVENESS.staleAfterMs * 5, { path: '/v2/positions' });
    const first = harness.reconcile(routed);
    await positionsHeld();
    // Well past the stale threshold since the run started, with the broker still holding its answer.
    await sleep(LIVENESS.staleAfterMs * 1.5);

    expect(await harness.scheduledRun(routed.connectionId)).toEqual({ status: 'skipped', reason: 'already-running' });
    const run = await first;
    expect(run).toMatchObject({ status: 'ok', error: null });
    expect((await runsOf(routed)).map((r) => [r.id, r.status])).toEqual([[run.id, 'ok']]);
  });
});

describe('a run whose worker process is killed mid-run', () => {
  it('is closed as interrupted by the next run of the connection, which completes', async () => {
    const routed = await setupAlpacaStrategy(harness);
    // The run goes to a worker process of its own; this process's reconcile worker waits.
    await harness.holdReconciler();
    child = await startWorkerProcess({
      ALPACA_PAPER_URL: harness.alpaca.url,
      ALPACA_LIVE_URL: harness.alpaca.url,
      LOG_LEVEL: 'info',
    });
    await child.ready();
    harness.alpaca.controls.hangNext({ path: '/v2/positions' });
    await routed.trader.client.brokers.reconcile.mutate({ connectionId: routed.connectionId });
    await positionsHeld();
    const [held] = await runsOf(routed);
    expect(held?.status).toBeNull();
    await child.kill();
    harness.releaseReconciler();

    // The dead worker's last beat ages past the threshold; the next scheduler tick finds it stale.
    await sleep(LIVENESS.staleAfterMs * 1.5);
    const next = await harness.scheduledRun(routed.connectionId);
    expect(next).toMatchObject({ status: 'ok', discrepancies: 0 });
    const runs = await runsOf(routed);
    expect(runs.find((r) => r.id === held?.id)).toMatchObject({ status: 'error', error: RUN_INTERRUPTED });
    expect(runs.find((r) => r.id === (next.status === 'ok' ? next.runId : 0))).toMatchObject({ status: 'ok' });
  }, 60_000);
});
