// A tiny service defined in the test itself (JSON on the wire), shaped exactly like ts-proto's
// grpc-js output, so the kit is tested without depending on product protos.
import {
  makeGenericClientConstructor,
  type CallOptions,
  type ChannelCredentials,
  type Client,
  type ClientOptions,
  type ClientReadableStream,
  type ClientUnaryCall,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type Metadata,
  type ServiceError,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';

export interface EchoRequest {
  text: string;
}

export interface EchoResponse {
  text: string;
  /** What the server saw, for assertions. */
  requestId?: string;
  attempt?: number;
  deadlineMs?: number;
  peer?: string;
}

function jsonSerialize(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function jsonDeserialize<T>(buffer: Buffer): T {
  return JSON.parse(buffer.toString('utf8')) as T;
}

function unaryMethod(path: string) {
  return {
    path,
    requestStream: false as const,
    responseStream: false as const,
    requestSerialize: (value: EchoRequest) => jsonSerialize(value),
    requestDeserialize: (buffer: Buffer) => jsonDeserialize<EchoRequest>(buffer),
    responseSerialize: (value: EchoResponse) => jsonSerialize(value),
    responseDeserialize: (buffer: Buffer) => jsonDeserialize<EchoResponse>(buffer),
  };
}

export const EchoService = {
  echo: unaryMethod('/test.v1.EchoService/Echo'),
  relay: unaryMethod('/test.v1.EchoService/Relay'),
  ticks: { ...unaryMethod('/test.v1.EchoService/Ticks'), responseStream: true as const },
} as const;

export interface EchoServer extends UntypedServiceImplementation {
  echo: handleUnaryCall<EchoRequest, EchoResponse>;
  relay: handleUnaryCall<EchoRequest, EchoResponse>;
  ticks: handleServerStreamingCall<EchoRequest, EchoResponse>;
}

type Callback = (error: ServiceError | null, response: EchoResponse) => void;

export interface EchoClient extends Client {
  echo(request: EchoRequest, callback: Callback): ClientUnaryCall;
  echo(request: EchoRequest, metadata: Metadata, callback: Callback): ClientUnaryCall;
  echo(
    request: EchoRequest,
    metadata: Metadata,
    options: Partial<CallOptions>,
    callback: Callback,
  ): ClientUnaryCall;
  relay(request: EchoRequest, callback: Callback): ClientUnaryCall;
  relay(request: EchoRequest, metadata: Metadata, callback: Callback): ClientUnaryCall;
  relay(
    request: EchoRequest,
    metadata: Metadata,
    options: Partial<CallOptions>,
    callback: Callback,
  ): ClientUnaryCall;
  ticks(request: EchoRequest, options?: Partial<CallOptions>): ClientReadableStream<EchoResponse>;
  ticks(
    request: EchoRequest,
    metadata?: Metadata,
    options?: Partial<CallOptions>,
  ): ClientReadableStream<EchoResponse>;
}

export const EchoClient = makeGenericClientConstructor(
  EchoService,
  'test.v1.EchoService',
) as unknown as {
  new (
    address: string,
    credentials: ChannelCredentials,
    options?: Partial<ClientOptions>,
  ): EchoClient;
  service: typeof EchoService;
  serviceName: string;
};
