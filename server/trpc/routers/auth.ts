import { accountView } from '#shared/schemas/account.ts';
import { changePasswordInput, loginInput, refreshInput, registerInput } from '#shared/schemas/auth.ts';
import { changePassword } from '../../services/auth/change-password.ts';
import { login } from '../../services/auth/login.ts';
import { logout } from '../../services/auth/logout.ts';
import { me } from '../../services/auth/me.ts';
import { refresh } from '../../services/auth/refresh.ts';
import { register } from '../../services/auth/register.ts';
import { serviceContext } from '../context.ts';
import { protectedProcedure, publicProcedure, router } from '../init.ts';
import { beginLoginAttempt, enforceRegisterLimit } from '../middleware/rate-limit.ts';

// Before `.input()`: the attempt counts before the input is parsed or the password checked.
const rateLimitedLogin = publicProcedure.use(async ({ ctx, getRawInput, next }) => {
  const attempt = await beginLoginAttempt(ctx, await getRawInput());
  const result = await next();
  if (result.ok) await attempt.succeeded();
  return result;
});

// Each call counts, a batched one too, before the input is parsed: every registration costs an argon2 hash.
const rateLimitedRegister = publicProcedure.use(async ({ ctx, next }) => {
  await enforceRegisterLimit(ctx);
  return next();
});

export const authRouter = router({
  register: rateLimitedRegister.input(registerInput).mutation(({ ctx, input }) => register(serviceContext(ctx), input)),
  login: rateLimitedLogin.input(loginInput).mutation(({ ctx, input }) => login(serviceContext(ctx), input)),
  refresh: publicProcedure
    .input(refreshInput)
    .mutation(({ ctx, input }) => refresh(serviceContext(ctx), input.refreshToken)),
  logout: publicProcedure
    .input(refreshInput)
    .mutation(({ ctx, input }) => logout(serviceContext(ctx), input.refreshToken)),
  me: protectedProcedure.output(accountView).query(({ ctx }) => me(serviceContext(ctx), ctx.user.id)),
  changePassword: protectedProcedure
    .input(changePasswordInput)
    .mutation(({ ctx, input }) =>
      changePassword(serviceContext(ctx), { userId: ctx.user.id, sessionFamily: ctx.user.sessionFamily }, input),
    ),
});
