import { type Logger } from '@strata/logger';
import { invalidArgument, unauthenticated } from '@strata/grpc';
import { type PasswordHasher } from '../passwords/password-hasher';
import { PASSWORD_MAX_LENGTH, passwordLength } from '../passwords/password-policy';
import { EMAIL_MAX_LENGTH, normaliseEmail } from '../users/user-fields';
import { type SessionTokenFactory, type SessionTokens } from './session-tokens';
import { type SessionsRepository } from './sessions.repository';

export const INVALID_CREDENTIALS_REASON = 'ERROR_REASON_INVALID_CREDENTIALS';

export interface AuthenticateInput {
  readonly email: string;
  readonly password: string;
}

export class AuthenticateUseCase {
  constructor(
    private readonly repository: SessionsRepository,
    private readonly passwordHasher: PasswordHasher,
    private readonly tokens: SessionTokenFactory,
    private readonly logger: Logger,
  ) {}

  async execute(input: AuthenticateInput): Promise<{ userId: string; tokens: SessionTokens }> {
    const email = normaliseEmail(input.email);
    // Only emptiness and length are checked here: the password policy applies when a password is
    // chosen, and telling "too short" apart at login would only help a guesser.
    if (email.length === 0) throw invalidArgument('email', 'is required');
    if (email.length > EMAIL_MAX_LENGTH)
      throw invalidArgument('email', `must be at most ${EMAIL_MAX_LENGTH} characters`);
    if (input.password.length === 0) throw invalidArgument('password', 'is required');
    if (passwordLength(input.password) > PASSWORD_MAX_LENGTH) {
      throw invalidArgument('password', `must be at most ${PASSWORD_MAX_LENGTH} characters`);
    }

    const credentials = await this.repository.findCredentialsByEmail(email);
    // Unknown email and wrong password do the same work (one argon2 verification) and fail alike.
    const valid = credentials
      ? await this.passwordHasher.verify(credentials.passwordHash, input.password)
      : await this.passwordHasher.verifyDummy(input.password);
    if (!credentials || !valid) {
      throw unauthenticated('invalid email or password', INVALID_CREDENTIALS_REASON);
    }

    if (this.passwordHasher.needsRehash(credentials.passwordHash)) {
      // The plain password is only at hand during a login: the moment to upgrade old parameters.
      await this.repository.updatePasswordHash(
        credentials.userId,
        await this.passwordHasher.hash(input.password),
      );
      this.logger.info(
        { userId: credentials.userId },
        'password rehashed with current argon2 parameters',
      );
    }

    const refresh = this.tokens.newRefreshToken();
    await this.repository.openFamily(credentials.userId, refresh.stored);
    const tokens = await this.tokens.pair(
      { userId: credentials.userId, role: credentials.role },
      refresh,
    );
    return { userId: credentials.userId, tokens };
  }
}
