import { TestResources } from './test-resources';

describe('TestResources', () => {
  function resource(
    name: string,
    log: string[],
    options: { failOpen?: boolean; delayMs?: number } = {},
  ) {
    return {
      open: async () => {
        await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 0));
        if (options.failOpen) throw new Error(`${name} did not start`);
        log.push(`open ${name}`);
        return name;
      },
      close: (opened: string) => {
        log.push(`close ${opened}`);
        return Promise.resolve();
      },
    };
  }

  it('closes what was started, newest first, when a later start fails', async () => {
    const log: string[] = [];
    const resources = new TestResources();
    const a = resource('a', log);
    const b = resource('b', log);
    const c = resource('c', log, { failOpen: true });
    await resources.open(a.open, a.close);
    await resources.open(b.open, b.close);
    await expect(resources.open(c.open, c.close)).rejects.toThrow('c did not start');
    expect(log).toEqual(['open a', 'open b', 'close b', 'close a']);
  });

  it('rejects a parallel start only once a resource still starting alongside the failed one is closed', async () => {
    const log: string[] = [];
    const resources = new TestResources();
    const slow = resource('slow', log, { delayMs: 30 });
    const failing = resource('failing', log, { failOpen: true });
    await expect(
      Promise.all([
        resources.open(slow.open, slow.close),
        resources.open(failing.open, failing.close),
      ]),
    ).rejects.toThrow('failing did not start');
    // Promise.all rejects with the first rejection: by then the slow start had finished and was
    // closed (a database migrated meanwhile is dropped before the suite goes on to fail).
    expect(log).toEqual(['open slow', 'close slow']);
  });

  it('closes a resource opened after another one failed, and says why it failed', async () => {
    const log: string[] = [];
    const resources = new TestResources();
    const failing = resource('failing', log, { failOpen: true });
    const late = resource('late', log);
    await expect(resources.open(failing.open, failing.close)).rejects.toThrow();
    await expect(resources.open(late.open, late.close)).rejects.toMatchObject({
      cause: { message: 'failing did not start' },
    });
    expect(log).toEqual(['open late', 'close late']);
  });

  it('reports the start failure, not a close failing after it', async () => {
    const resources = new TestResources();
    await resources.open(
      () => Promise.resolve('a'),
      () => Promise.reject(new Error('close failed')),
    );
    await expect(
      resources.open(
        () => Promise.reject(new Error('b did not start')),
        () => Promise.resolve(),
      ),
    ).rejects.toThrow('b did not start');
  });

  it('closeAll tries every resource and rejects with the first error; a second call does nothing', async () => {
    const log: string[] = [];
    const resources = new TestResources();
    await resources.open(
      () => Promise.resolve('a'),
      () => {
        log.push('close a');
        return Promise.resolve();
      },
    );
    await resources.open(
      () => Promise.resolve('b'),
      () => {
        log.push('close b');
        return Promise.reject(new Error('b would not close'));
      },
    );
    await expect(resources.closeAll()).rejects.toThrow('b would not close');
    expect(log).toEqual(['close b', 'close a']);
    await expect(resources.closeAll()).resolves.toBeUndefined();
    expect(log).toHaveLength(2);
  });
});
