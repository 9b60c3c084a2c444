/**
 * What a suite's `beforeAll` starts, so that a start that fails part way closes what it had
 * already started. Jest's `afterAll` never gets the half-built harness, and a server left
 * listening or a child process left running keeps Jest from exiting: the run hangs instead of
 * failing with the error that stopped it (a missing TEST_REDIS_URL, say).
 *
 * @example
 * const resources = new TestResources();
 * const [database, users] = await Promise.all([
 *   resources.open(() => createTestDatabase({ serviceDir }), (opened) => opened.drop()),
 *   resources.open(startFakeUserService, (opened) => opened.close()),
 * ]);
 * // on success, the harness's close() calls resources.closeAll()
 */
export class TestResources {
  /** Newest first: a resource may depend on one opened before it. */
  private readonly closers: Array<() => Promise<unknown>> = [];
  private readonly opening = new Set<Promise<unknown>>();
  private failure: { readonly error: unknown; readonly cleanedUp: Promise<void> } | undefined;

  /**
   * Opens one resource and remembers how to close it. If it fails, or another one opened
   * alongside it failed, waits for every start still running, closes everything held (newest
   * first) and rejects: the suite fails only once nothing it started is left behind.
   */
  async open<Resource>(
    open: () => Promise<Resource>,
    close: (resource: Resource) => Promise<unknown>,
  ): Promise<Resource> {
    const opening = open().then((resource) => {
      // Registered the moment the start resolves, before anything awaiting it resumes, so that a
      // failure elsewhere that waits for every start to settle finds it here.
      this.closers.unshift(() => close(resource));
      return resource;
    });
    this.opening.add(opening);
    try {
      const resource = await opening;
      if (this.failure) {
        throw new Error('closed again: another test resource failed to start', {
          cause: this.failure.error,
        });
      }
      return resource;
    } catch (error) {
      // The first failure cleans up for all; the others wait for it, so the first to reject (what
      // a Promise.all of these reports) is the error that stopped the start.
      this.failure ??= { error, cleanedUp: this.cleanUpAfterFailure() };
      await this.failure.cleanedUp;
      // A start opened after that cleanup (one after another, not alongside) closes itself here.
      await this.closeAll().catch(() => undefined);
      throw error;
    } finally {
      this.opening.delete(opening);
    }
  }

  private async cleanUpAfterFailure(): Promise<void> {
    await Promise.allSettled([...this.opening]);
    // The error that stopped the start is the one to report, not a close failing after it.
    await this.closeAll().catch(() => undefined);
  }

  /**
   * Closes everything held, newest first, each even if one before it failed; rejects with the
   * first error once all were tried.
   */
  async closeAll(): Promise<void> {
    const closers = this.closers.splice(0);
    let firstError: { error: unknown } | undefined;
    for (const close of closers) {
      try {
        await close();
      } catch (error) {
        firstError ??= { error };
      }
    }
    if (firstError) throw firstError.error;
  }
}
