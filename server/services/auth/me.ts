/** `auth.me` answers with the same view as `account.get`: one service, so the two can never drift apart. */
export { getAccount as me } from '../account/get.ts';
