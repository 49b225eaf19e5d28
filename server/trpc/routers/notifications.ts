import { router } from '../init.ts';

export const notificationsRouter = router({});
