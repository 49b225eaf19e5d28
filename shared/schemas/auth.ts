import { z } from 'zod';
import { USER_ROLES } from '../enums.ts';
import { emailSchema, requiredText } from './common.ts';

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 128;

export const passwordSchema = z
  .string()
  .min(PASSWORD_MIN, `must be at least ${PASSWORD_MIN} characters`)
  .max(PASSWORD_MAX, `must be at most ${PASSWORD_MAX} characters`);

export const registerInput = z
  .object({ email: emailSchema, password: passwordSchema, name: requiredText(100) })
  .strict()
  .refine((input) => input.password.toLowerCase() !== input.email, {
    message: 'must not be the same as the email address',
    path: ['password'],
  });

// Login takes any password up to the maximum: the rules apply when one is chosen, not when one is checked.
export const loginInput = z.object({ email: emailSchema, password: z.string().min(1).max(PASSWORD_MAX) }).strict();

export const refreshInput = z.object({ refreshToken: z.string().min(20).max(200) }).strict();

export const changePasswordInput = z
  .object({ currentPassword: z.string().min(1).max(PASSWORD_MAX), newPassword: passwordSchema })
  .strict();

export const publicUser = z.object({
  id: z.number(),
  email: z.string(),
  name: z.string(),
  role: z.enum(USER_ROLES),
});
export type PublicUser = z.infer<typeof publicUser>;

export interface AuthResult {
  user: PublicUser;
  accessToken: string;
  refreshToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
}
