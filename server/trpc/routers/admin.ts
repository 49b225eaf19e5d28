import { router } from '../init.ts';

export const adminRouter = router({});
