import { KafkaMessage } from 'kafkajs';

import { InboundTopicKind } from './inbound-event';

/** The Nest message pattern under which the batch transport delivers inbound batches. */
export const INBOUND_BATCH_PATTERN = 'quota-lock.inbound-batch';

/** A slice of one partition's batch, handed to the handler as a whole so it can share one transaction. */
export interface InboundBatch {
  topic: string;
  kind: InboundTopicKind;
  partition: number;
  messages: KafkaMessage[];
  heartbeat(): Promise<void>;
  /** True once the partition was revoked, the consumer is stopping, or the process shuts down. */
  shouldStop(): boolean;
  /** Aborted on shutdown, so backoff waits end early. */
  signal: AbortSignal;
}

/** `completed` means every message is committed in PostgreSQL or acknowledged by the DLQ topic. */
export interface InboundBatchResult {
  completed: boolean;
}
