import { type Logger } from '@strata/logger';
import { type Clock } from './clock';
import { type UserDatabase } from './database';
import { PrismaEmailVerificationRepository } from './email-verification/email-verification.repository';
import { VerifyEmailUseCase } from './email-verification/verify-email.usecase';
import { type UserUseCases } from './grpc/user.handlers';
import { type PasswordHasher } from './passwords/password-hasher';
import { type PasswordPolicy } from './passwords/password-policy';
import { PrismaPasswordResetRepository } from './password-reset/password-reset.repository';
import { RequestPasswordResetUseCase } from './password-reset/request-password-reset.usecase';
import { ResetPasswordUseCase } from './password-reset/reset-password.usecase';
import { BatchGetUsersUseCase } from './profiles/batch-get-users.usecase';
import { GetUserContactUseCase } from './profiles/get-user-contact.usecase';
import { GetUserUseCase } from './profiles/get-user.usecase';
import { type ProfileCache, PrismaProfilesRepository } from './profiles/profiles.repository';
import { UpdateProfileUseCase } from './profiles/update-profile.usecase';
import { RegisterUseCase } from './registration/register.usecase';
import { PrismaRegistrationRepository } from './registration/registration.repository';
import { PrismaRolesRepository } from './roles/roles.repository';
import { SetUserRoleUseCase } from './roles/set-user-role.usecase';
import { AuthenticateUseCase } from './sessions/authenticate.usecase';
import { RefreshSessionUseCase } from './sessions/refresh-session.usecase';
import { RevokeSessionUseCase } from './sessions/revoke-session.usecase';
import { SessionTokenFactory } from './sessions/session-tokens';
import { PrismaSessionsRepository } from './sessions/sessions.repository';
import { type AccessTokenIssuer } from './tokens/access-token.issuer';

export interface UseCaseDependencies {
  readonly database: UserDatabase;
  readonly profileCache: ProfileCache;
  readonly passwordPolicy: PasswordPolicy;
  readonly passwordHasher: PasswordHasher;
  readonly accessTokens: AccessTokenIssuer;
  readonly refreshTokenTtlDays: number;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** Wires repositories into use cases. Pure construction: no I/O, so tests reuse it with their own resources. */
export function createUseCases(dependencies: UseCaseDependencies): UserUseCases {
  const { database, profileCache, passwordPolicy, passwordHasher, clock, logger } = dependencies;
  const sessions = new PrismaSessionsRepository(database);
  const passwordResets = new PrismaPasswordResetRepository(database);
  const profiles = new PrismaProfilesRepository(database);
  const tokens = new SessionTokenFactory(
    dependencies.accessTokens,
    dependencies.refreshTokenTtlDays * 24 * 60 * 60 * 1000,
    clock,
  );
  return {
    register: new RegisterUseCase(
      new PrismaRegistrationRepository(database),
      passwordPolicy,
      passwordHasher,
      clock,
    ),
    authenticate: new AuthenticateUseCase(sessions, passwordHasher, tokens, logger),
    refreshSession: new RefreshSessionUseCase(sessions, tokens, clock, logger),
    revokeSession: new RevokeSessionUseCase(sessions, clock),
    verifyEmail: new VerifyEmailUseCase(new PrismaEmailVerificationRepository(database), clock),
    requestPasswordReset: new RequestPasswordResetUseCase(passwordResets, clock),
    resetPassword: new ResetPasswordUseCase(passwordResets, passwordPolicy, passwordHasher, clock),
    getUser: new GetUserUseCase(profiles, profileCache),
    batchGetUsers: new BatchGetUsersUseCase(profiles, profileCache),
    getUserContact: new GetUserContactUseCase(profiles),
    updateProfile: new UpdateProfileUseCase(profiles, profileCache),
    setUserRole: new SetUserRoleUseCase(new PrismaRolesRepository(database), profileCache),
    accessTokens: dependencies.accessTokens,
  };
}
