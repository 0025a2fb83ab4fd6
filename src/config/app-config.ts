/** Typed configuration of the service, read once from the environment at start. */
export interface ServiceToken {
  name: string;
  secret: string;
}

export interface KafkaTopics {
  storage: string;
  users: string;
  admin: string;
  locks: string;
  deadLetters: string;
}

export interface AppConfig {
  appEnv: 'production' | 'development' | 'test';
  kafka: {
    brokers: string[];
    groupId: string;
    clientId: string;
    topics: KafkaTopics;
    topicPartitions: number;
    adminSources: ReadonlySet<string>;
    /** `null` accepts any source. */
    usageSources: ReadonlySet<string> | null;
  };
  database: {
    url: string;
    poolMax: number;
  };
  http: {
    /** Address the HTTP server binds to. */
    host: string;
    port: number;
    rateLimitPerMinute: number;
  };
  serviceTokens: ServiceToken[];
  serviceSource: string;
  maxEventBytes: number;
  dedupeRetentionMs: number;
  relayPollMs: number;
  shutdownTimeoutMs: number;
  logLevel: string;
  /** Test-only pause after the rows are locked, so tests can observe lock waits; 0 unless set. */
  testTransactionDelayMs: number;
  /** Test-only crash points; empty unless `TEST_FAULT_POINTS` is set. */
  faultPoints: ReadonlyMap<string, number>;
  /** Test-only prefix of CloudEvents ids whose events throw while they are applied; `null` unless set. */
  testFailingEventIdPrefix: string | null;
}

export const APP_CONFIG = Symbol('APP_CONFIG');
