import { accountView, setTradingEnabledInput, tradingState } from '#shared/schemas/account.ts';
import { getAccount } from '../../services/account/get.ts';
import { setTradingEnabled } from '../../services/account/set-trading-enabled.ts';
import { serviceContext } from '../context.ts';
import { protectedProcedure, router } from '../init.ts';

export const accountRouter = router({
  get: protectedProcedure.output(accountView).query(({ ctx }) => getAccount(serviceContext(ctx))),
  setTradingEnabled: protectedProcedure
    .input(setTradingEnabledInput)
    .output(tradingState)
    .mutation(({ ctx, input }) => setTradingEnabled(serviceContext(ctx), input)),
});
