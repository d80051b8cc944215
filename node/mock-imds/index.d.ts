// Types of index.js: see its docs for each call.

/** The state of the mock (`GET /state` and the answer to every change). */
export interface State {
  state: string;
  up: boolean;
  seed: number;
  events_recorded: number;
  events_dropped: number;
  imds_requests_recorded: number;
}

/** One event (mock-imds/src/events/kinds.rs): `type` and `at_ms` (ms since the mock started), and its kind's fields. */
export interface MockEvent {
  type: 'transition' | 'transition-failed' | 'imds-request' | 'sts-request';
  at_ms: number;
  [field: string]: unknown;
}

export interface MockImdsOptions {
  /** The binary; default `$MOCK_IMDS_BIN`, else `PATH`. */
  bin?: string;
  /** `"up"`, or fault specs joined by `;`. */
  state?: string;
  seed?: number;
  port?: number;
  stsPort?: number;
  controlPort?: number;
  /** Milliseconds to wait for the endpoints (30000). */
  startTimeoutMs?: number;
  /** Milliseconds one control call may take (10000). */
  requestTimeoutMs?: number;
  /** The instance options: the keys of `mock-imds serve --config` (`http_tokens`, `role_name`, `identity`, …). */
  settings?: Record<string, string | number | boolean | Record<string, string | number | boolean>>;
}

/** A schedule step: `[at, change]` or `{at, state}`; `at` a duration string or milliseconds. */
export type Step = [string | number, string] | { at: string | number; state: string };

export declare class MockImdsError extends Error {}
export declare class StartError extends MockImdsError {}
export declare class ControlError extends MockImdsError {
  status: number | null;
  mockMessage: string;
}

export declare class MockImds {
  constructor(options?: MockImdsOptions);
  static start(options?: MockImdsOptions): Promise<MockImds>;
  start(): Promise<this>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  readonly running: boolean;
  readonly pid: number;
  readonly endpoint: string;
  readonly stsEndpoint: string;
  readonly controlEndpoint: string;
  readonly seed: number;
  readonly env: Record<string, string>;
  sdkEnv(base?: Record<string, string | undefined>, home?: string): Record<string, string>;
  useEnv(): () => void;
  down(): Promise<State>;
  up(): Promise<State>;
  fault(spec: string): Promise<State>;
  clear(target?: string): Promise<State>;
  setState(state: string): Promise<State>;
  reset(): Promise<State>;
  schedule(steps: Step[] | string): Promise<number>;
  stopSchedule(): Promise<State>;
  clock(offset?: string | number): Promise<{ now: Date; offsetMs: number }>;
  rotate(): Promise<{ accessKeyId: string; expiration: Date }>;
  state(): Promise<State>;
  events(sinceMs?: number): Promise<MockEvent[]>;
  credentialFetches(): Promise<number>;
  stsAccessKeys(): Promise<Array<string | null>>;
}

/** node:test: start a mock for `t`, point `process.env` at it, stop it after the test. */
export declare function mockImds(t: { after(fn: () => unknown): void }, options?: MockImdsOptions): Promise<MockImds>;
export declare function findBinary(explicit?: string): string;
export declare function sanitisedEnv(base: Record<string, string | undefined>, home: string): Record<string, string>;
export declare function isCredentialFetch(event: MockEvent): boolean;
export declare const BIN_ENV: 'MOCK_IMDS_BIN';
