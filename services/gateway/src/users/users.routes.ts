import { status } from '@grpc/grpc-js';
import { type FastifyInstance } from 'fastify';
import { isServiceError } from '@strata/grpc';
import { actorOf } from '../auth/authenticate.hook';
import { callOptionsFor } from '../downstream/downstream';
import { ApiError } from '../errors/api-error';
import { errorResponses, idParams, securityBearer, type IdParams } from '../http/schemas';
import { type GatewayContext } from '../gateway-context';
import {
  ownProfileSchema,
  sessionTokensSchema,
  toOwnProfile,
  toSessionTokens,
  toUserProfile,
  userProfileSchema,
} from './user.mapper';

// Bounds only: the user service owns the policies (password length, common passwords…).
const email = { type: 'string', minLength: 1, maxLength: 254 } as const;
const password = { type: 'string', minLength: 1, maxLength: 128 } as const;
const opaqueToken = { type: 'string', minLength: 1, maxLength: 512 } as const;

function body<
  const Properties extends Record<string, unknown>,
  const Required extends readonly string[],
>(properties: Properties, required: Required) {
  return { type: 'object', additionalProperties: false, required, properties } as const;
}

interface RegisterBody {
  email: string;
  password: string;
  name: string;
}
interface LoginBody {
  email: string;
  password: string;
}
interface RefreshBody {
  refreshToken: string;
}
interface TokenBody {
  token: string;
}
interface EmailBody {
  email: string;
}
interface ResetConfirmBody {
  token: string;
  password: string;
}
interface PatchMeBody {
  name?: string;
  bio?: string;
}

export function registerUserRoutes(app: FastifyInstance, context: GatewayContext): void {
  const { users } = context.downstream;

  app.post<{ Body: RegisterBody }>(
    '/v1/users',
    {
      schema: {
        tags: ['users'],
        summary: 'Register an account',
        body: body({ email, password, name: { type: 'string', minLength: 1, maxLength: 64 } }, [
          'email',
          'password',
          'name',
        ]),
        response: { 201: ownProfileSchema, ...errorResponses(400, 409) },
      },
    },
    async (request, reply) => {
      const response = await users.register(
        {
          email: request.body.email,
          password: request.body.password,
          displayName: request.body.name,
        },
        callOptionsFor(request),
      );
      return reply.code(201).send(toOwnProfile(response.user, response.account));
    },
  );

  app.post<{ Body: LoginBody }>(
    '/v1/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in with email and password',
        body: body({ email, password }, ['email', 'password']),
        response: { 200: sessionTokensSchema, ...errorResponses(400, 401, 429) },
      },
    },
    async (request) => {
      const { loginFailures } = context;
      const retryAfter = await loginFailures.retryAfterSeconds(request.body.email, request.ip);
      if (retryAfter !== undefined) {
        throw new ApiError(429, 'RESOURCE_EXHAUSTED', 'too many failed logins, try again later', {
          'retry-after': String(retryAfter),
        });
      }
      try {
        const response = await users.authenticate(
          { email: request.body.email, password: request.body.password },
          callOptionsFor(request),
        );
        await loginFailures.reset(request.body.email, request.ip);
        return toSessionTokens(response.tokens);
      } catch (error) {
        if (isServiceError(error) && error.code === status.UNAUTHENTICATED) {
          await loginFailures.recordFailure(request.body.email, request.ip);
        }
        throw error;
      }
    },
  );

  app.post<{ Body: RefreshBody }>(
    '/v1/auth/refresh',
    {
      schema: {
        tags: ['auth'],
        summary: 'Exchange a refresh token for a new pair (rotation)',
        body: body({ refreshToken: opaqueToken }, ['refreshToken']),
        response: { 200: sessionTokensSchema, ...errorResponses(400, 401) },
      },
    },
    async (request) => {
      const response = await users.refreshSession(
        { refreshToken: request.body.refreshToken },
        callOptionsFor(request),
      );
      return toSessionTokens(response.tokens);
    },
  );

  app.post<{ Body: RefreshBody }>(
    '/v1/auth/logout',
    {
      schema: {
        tags: ['auth'],
        summary: 'Revoke the session family of a refresh token',
        body: body({ refreshToken: opaqueToken }, ['refreshToken']),
        response: { 204: { type: 'null' }, ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      await users.revokeSession(
        { refreshToken: request.body.refreshToken },
        callOptionsFor(request),
      );
      return reply.code(204).send();
    },
  );

  app.post<{ Body: TokenBody }>(
    '/v1/auth/verify-email',
    {
      schema: {
        tags: ['auth'],
        summary: 'Confirm an email address with the emailed token',
        body: body({ token: opaqueToken }, ['token']),
        response: { 204: { type: 'null' }, ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      await users.verifyEmail({ token: request.body.token }, callOptionsFor(request));
      return reply.code(204).send();
    },
  );

  app.post<{ Body: EmailBody }>(
    '/v1/auth/password-reset',
    {
      schema: {
        tags: ['auth'],
        summary: 'Request a password-reset email (same answer whether the account exists)',
        body: body({ email }, ['email']),
        response: { 202: { type: 'null' }, ...errorResponses(400, 429) },
      },
      config: {
        // Per email and client, after the body is parsed; replaces the general limit here.
        rateLimit: {
          max: context.config.PASSWORD_RESET_LIMIT,
          timeWindow: context.config.PASSWORD_RESET_WINDOW_MS,
          hook: 'preHandler',
          keyGenerator: (request) => {
            const requestBody = request.body as Partial<EmailBody> | undefined;
            return `${request.ip}|${(requestBody?.email ?? '').trim().toLowerCase()}`;
          },
        },
      },
    },
    async (request, reply) => {
      await users.requestPasswordReset({ email: request.body.email }, callOptionsFor(request));
      return reply.code(202).send();
    },
  );

  app.post<{ Body: ResetConfirmBody }>(
    '/v1/auth/password-reset/confirm',
    {
      schema: {
        tags: ['auth'],
        summary: 'Set a new password with the emailed token',
        body: body({ token: opaqueToken, password }, ['token', 'password']),
        response: { 204: { type: 'null' }, ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      await users.resetPassword(
        { token: request.body.token, newPassword: request.body.password },
        callOptionsFor(request),
      );
      return reply.code(204).send();
    },
  );

  app.get(
    '/v1/users/me',
    {
      schema: {
        tags: ['users'],
        summary: 'Own profile and account details',
        security: securityBearer,
        response: { 200: ownProfileSchema, ...errorResponses(401) },
      },
      config: { auth: 'required' },
    },
    async (request) => {
      const actor = actorOf(request);
      const response = await users.getUser(
        { userId: actor.userId, actor },
        callOptionsFor(request),
      );
      return toOwnProfile(response.user, response.account);
    },
  );

  app.patch<{ Body: PatchMeBody }>(
    '/v1/users/me',
    {
      schema: {
        tags: ['users'],
        summary: 'Change own name and/or bio',
        security: securityBearer,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 64 },
            bio: { type: 'string', maxLength: 500 },
          },
        },
        response: { 200: ownProfileSchema, ...errorResponses(400, 401) },
      },
      config: { auth: 'required' },
    },
    async (request) => {
      const actor = actorOf(request);
      const update: { actor: typeof actor; displayName?: string; bio?: string } = { actor };
      if (request.body.name !== undefined) update.displayName = request.body.name;
      if (request.body.bio !== undefined) update.bio = request.body.bio;
      const response = await users.updateProfile(update, callOptionsFor(request));
      // Cached article pages show author names.
      await context.pageCache.invalidate();
      return toOwnProfile(response.user, response.account);
    },
  );

  app.get<{ Params: IdParams }>(
    '/v1/users/:id',
    {
      schema: {
        tags: ['users'],
        summary: 'Public profile of a user',
        params: idParams,
        response: { 200: userProfileSchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      // No actor on purpose: this route shows the public profile only, whoever asks.
      const response = await users.getUser({ userId: request.params.id }, callOptionsFor(request));
      return toUserProfile(response.user);
    },
  );
}
