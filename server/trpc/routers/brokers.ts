import { router } from '../init.ts';

export const brokersRouter = router({});
