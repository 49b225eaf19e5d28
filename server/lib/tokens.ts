/**
 * Access tokens: JWT signed with HS256 (pinned on verify, so `none` or RS/HS confusion is refused), 15 minutes,
 * issuer and audience checked. Refresh tokens are opaque random strings; only their SHA-256 is stored.
 */
import { errors, jwtVerify, SignJWT } from 'jose';
import { env } from './env.ts';

export const ACCESS_TOKEN_TTL_S = 15 * 60;
const ISSUER = 'fillpath';
const AUDIENCE = 'fillpath-api';
const secret = new TextEncoder().encode(env.JWT_SECRET);

export interface AccessClaims {
  userId: number;
  role: 'user' | 'admin';
  sessionFamily: string;
}

export class InvalidAccessToken extends Error {}

export async function signAccessToken(claims: AccessClaims, now = new Date()): Promise<string> {
  const issuedAt = Math.floor(now.getTime() / 1000);
  return new SignJWT({ role: claims.role, fam: claims.sessionFamily })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(String(claims.userId))
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ACCESS_TOKEN_TTL_S)
    .sign(secret);
}

export async function verifyAccessToken(token: string): Promise<AccessClaims> {
  try {
    const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE });
    const userId = Number(payload.sub);
    const role = payload.role;
    if (!Number.isSafeInteger(userId) || userId <= 0 || (role !== 'user' && role !== 'admin')) {
      throw new InvalidAccessToken('malformed claims');
    }
    return { userId, role, sessionFamily: typeof payload.fam === 'string' ? payload.fam : '' };
  } catch (error) {
    if (error instanceof InvalidAccessToken) throw error;
    if (error instanceof errors.JWTExpired) throw new InvalidAccessToken('expired');
    throw new InvalidAccessToken('invalid');
  }
}
