import { type UserServiceServer } from '@strata/contracts';
import { unary } from '@strata/grpc';
import { type VerifyEmailUseCase } from '../email-verification/verify-email.usecase';
import { type RequestPasswordResetUseCase } from '../password-reset/request-password-reset.usecase';
import { type ResetPasswordUseCase } from '../password-reset/reset-password.usecase';
import { type BatchGetUsersUseCase } from '../profiles/batch-get-users.usecase';
import { type GetUserContactUseCase } from '../profiles/get-user-contact.usecase';
import { type GetUserUseCase } from '../profiles/get-user.usecase';
import { type UpdateProfileUseCase } from '../profiles/update-profile.usecase';
import { type RegisterUseCase } from '../registration/register.usecase';
import { type SetUserRoleUseCase } from '../roles/set-user-role.usecase';
import { type AuthenticateUseCase } from '../sessions/authenticate.usecase';
import { type RefreshSessionUseCase } from '../sessions/refresh-session.usecase';
import { type RevokeSessionUseCase } from '../sessions/revoke-session.usecase';
import { type AccessTokenIssuer } from '../tokens/access-token.issuer';
import {
  accountToProto,
  actorFromProto,
  roleFromProto,
  sessionTokensToProto,
  userToProto,
} from './user.mapping';

export interface UserUseCases {
  readonly register: RegisterUseCase;
  readonly authenticate: AuthenticateUseCase;
  readonly refreshSession: RefreshSessionUseCase;
  readonly revokeSession: RevokeSessionUseCase;
  readonly verifyEmail: VerifyEmailUseCase;
  readonly requestPasswordReset: RequestPasswordResetUseCase;
  readonly resetPassword: ResetPasswordUseCase;
  readonly getUser: GetUserUseCase;
  readonly batchGetUsers: BatchGetUsersUseCase;
  readonly getUserContact: GetUserContactUseCase;
  readonly updateProfile: UpdateProfileUseCase;
  readonly setUserRole: SetUserRoleUseCase;
  readonly accessTokens: AccessTokenIssuer;
}

/** Proto in, proto out: all decisions live in the use cases, all status mapping in `unary()`. */
export function userServiceHandlers(useCases: UserUseCases): UserServiceServer {
  return {
    register: unary(async (request) => {
      const created = await useCases.register.execute({
        email: request.email,
        password: request.password,
        displayName: request.displayName,
      });
      return { user: userToProto(created.profile), account: accountToProto(created.account) };
    }),

    authenticate: unary(async (request) => {
      const session = await useCases.authenticate.execute({
        email: request.email,
        password: request.password,
      });
      return { userId: session.userId, tokens: sessionTokensToProto(session.tokens) };
    }),

    refreshSession: unary(async (request) => ({
      tokens: sessionTokensToProto(await useCases.refreshSession.execute(request.refreshToken)),
    })),

    revokeSession: unary(async (request) => {
      await useCases.revokeSession.execute(request.refreshToken);
      return {};
    }),

    verifyEmail: unary(async (request) => useCases.verifyEmail.execute(request.token)),

    requestPasswordReset: unary(async (request) => {
      await useCases.requestPasswordReset.execute(request.email);
      return {};
    }),

    resetPassword: unary(async (request) => {
      await useCases.resetPassword.execute({
        token: request.token,
        newPassword: request.newPassword,
      });
      return {};
    }),

    getUser: unary(async (request) => {
      const found = await useCases.getUser.execute({
        userId: request.userId,
        actor: actorFromProto(request.actor),
      });
      return {
        user: userToProto(found.profile),
        account: found.account ? accountToProto(found.account) : undefined,
      };
    }),

    batchGetUsers: unary(async (request) => {
      const result = await useCases.batchGetUsers.execute(request.userIds);
      return { users: result.users.map(userToProto), notFoundUserIds: result.notFoundUserIds };
    }),

    getUserContact: unary(async (request) => useCases.getUserContact.execute(request.userId)),

    updateProfile: unary(async (request) => {
      const updated = await useCases.updateProfile.execute({
        actor: actorFromProto(request.actor),
        displayName: request.displayName,
        bio: request.bio,
      });
      return { user: userToProto(updated.profile), account: accountToProto(updated.account) };
    }),

    setUserRole: unary(async (request) => {
      const updated = await useCases.setUserRole.execute({
        actor: actorFromProto(request.actor),
        userId: request.userId,
        role: roleFromProto(request.role),
      });
      return { user: userToProto(updated) };
    }),

    getSigningKeys: unary(() =>
      Promise.resolve({
        keys: useCases.accessTokens.signingKeys().map((key) => ({
          keyId: key.keyId,
          algorithm: key.algorithm,
          publicJwkJson: JSON.stringify(key.publicJwk),
        })),
        issuer: useCases.accessTokens.issuer,
        audience: useCases.accessTokens.audience,
      }),
    ),
  };
}
