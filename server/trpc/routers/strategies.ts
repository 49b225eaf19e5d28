import { router } from '../init.ts';

export const strategiesRouter = router({});
