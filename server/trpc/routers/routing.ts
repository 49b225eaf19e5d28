import { router } from '../init.ts';

export const routingRouter = router({});
