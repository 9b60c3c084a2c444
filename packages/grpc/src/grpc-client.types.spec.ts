// Compile-time checks of the promise client's typing (the typecheck target fails if they break),
// plus a runtime check that the wrapper exposes exactly the unary methods.
import {
  HealthCheckResponse_ServingStatus,
  HealthClient,
  type HealthCheckResponse,
  type HealthServer,
} from '@strata/contracts';
import { createGrpcClient, notFound, unary, type PromiseClient } from './index';
import { EchoClient, type EchoResponse } from './testing/echo.service';

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<_T extends true>(): void {}

describe('PromiseClient typing', () => {
  it('maps unary methods to promises and leaves streaming and base-client methods out', () => {
    assertType<Equal<keyof PromiseClient<HealthClient>, 'check'>>();
    assertType<Equal<keyof PromiseClient<EchoClient>, 'echo' | 'relay'>>();
    assertType<
      Equal<ReturnType<PromiseClient<HealthClient>['check']>, Promise<HealthCheckResponse>>
    >();
    assertType<Equal<ReturnType<PromiseClient<EchoClient>['echo']>, Promise<EchoResponse>>>();

    const health = createGrpcClient(HealthClient, { target: '127.0.0.1:1' });
    const echo = createGrpcClient(EchoClient, { target: '127.0.0.1:1' });
    try {
      const neverCalled = () =>
        // @ts-expect-error requests are typed: `service` must be a string
        health.check({ service: 42 });
      void neverCalled;
      // @ts-expect-error server-streaming methods are only on `raw`
      void echo.ticks;
      expect(typeof health.check).toBe('function');
      expect(typeof health.raw.watch).toBe('function');
      expect(Object.keys(echo).sort()).toEqual(['close', 'echo', 'raw', 'relay']);
    } finally {
      health.close();
      echo.close();
    }
  });
});

describe('unary() typing', () => {
  it('infers request and response types from a generated server interface', () => {
    const implementation: HealthServer = {
      // No type arguments: `request` is a HealthCheckRequest because `check` expects one.
      check: unary((request) =>
        request.service === ''
          ? Promise.resolve({ status: HealthCheckResponse_ServingStatus.SERVING })
          : Promise.reject(notFound(`unknown service ${request.service}`)),
      ),
      watch: (call) => call.end(),
    };
    const wrong: HealthServer = {
      // @ts-expect-error the response must be a HealthCheckResponse
      check: unary(() => Promise.resolve({ state: 'up' })),
      watch: (call) => call.end(),
    };
    expect(typeof implementation.check).toBe('function');
    expect(typeof wrong.check).toBe('function');
  });
});
