import { AppConfig } from '../config/app-config';
import { InboundTopicKind } from './inbound-event';

/** Largest message the inbound topics accept, above `MAX_EVENT_BYTES` so oversized events reach the DLQ. */
export const INBOUND_TOPIC_MAX_MESSAGE_BYTES = 1_572_864;
/** The DLQ accepts more than the inbound topics, so a dead letter is never rejected for its size. */
export const DEAD_LETTER_TOPIC_MAX_MESSAGE_BYTES = 3_145_728;

export interface TopicSpec {
  name: string;
  maxMessageBytes: number;
}

/** Inbound topic names and the kind of events each carries. */
export function inboundTopics(config: AppConfig): Map<string, InboundTopicKind> {
  const { topics } = config.kafka;
  return new Map<string, InboundTopicKind>([
    [topics.storage, 'storage'],
    [topics.users, 'users'],
    [topics.admin, 'admin'],
  ]);
}

/** Lists every topic this service reads or writes, with the settings it creates them with. */
export function requiredTopics(config: AppConfig): TopicSpec[] {
  const { topics } = config.kafka;
  return [
    { name: topics.storage, maxMessageBytes: INBOUND_TOPIC_MAX_MESSAGE_BYTES },
    { name: topics.users, maxMessageBytes: INBOUND_TOPIC_MAX_MESSAGE_BYTES },
    { name: topics.admin, maxMessageBytes: INBOUND_TOPIC_MAX_MESSAGE_BYTES },
    { name: topics.locks, maxMessageBytes: INBOUND_TOPIC_MAX_MESSAGE_BYTES },
    { name: topics.deadLetters, maxMessageBytes: DEAD_LETTER_TOPIC_MAX_MESSAGE_BYTES },
  ];
}
