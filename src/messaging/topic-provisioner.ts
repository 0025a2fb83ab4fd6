import { ConfigResourceTypes, Kafka } from 'kafkajs';
import { Logger } from 'pino';

import { sleep } from '../common/time/backoff';
import { TopicSpec } from './topic-catalog';

/**
 * Creates the topics the service needs and waits until every partition has a leader. An existing
 * topic is kept as it is: repartitioning would rehash keys and reorder a customer's events.
 */
export async function provisionTopics(
  kafka: Kafka,
  topics: TopicSpec[],
  partitions: number,
  logger: Logger,
  deadlineMs = 60_000,
): Promise<void> {
  const admin = kafka.admin();
  const started = Date.now();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic.name));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({
          topic: topic.name,
          numPartitions: partitions,
          configEntries: [{ name: 'max.message.bytes', value: String(topic.maxMessageBytes) }],
        })),
      });
      logger.info({ topics: missing.map((topic) => topic.name), partitions }, 'created topics');
    }

    for (;;) {
      const metadata = await admin.fetchTopicMetadata({ topics: topics.map((topic) => topic.name) });
      const leaderless = metadata.topics.flatMap((topic) =>
        topic.partitions
          .filter((partition) => partition.leader < 0)
          .map((partition) => `${topic.name}/${partition.partitionId}`),
      );
      for (const topic of metadata.topics) {
        if (existing.has(topic.name) && topic.partitions.length !== partitions) {
          logger.warn(
            { topic: topic.name, partitions: topic.partitions.length, configured: partitions },
            'existing topic has another partition count; keeping it unchanged',
          );
        }
      }
      if (leaderless.length === 0) {
        return;
      }
      if (Date.now() - started > deadlineMs) {
        throw new Error(`partitions without a leader after ${deadlineMs} ms: ${leaderless.join(', ')}`);
      }
      await sleep(500);
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Warns when an inbound topic keeps messages longer than `DEDUPE_RETENTION`: a redelivery of an
 * event whose dedupe key was already deleted would be counted twice.
 */
export async function warnOnShortDedupeRetention(
  kafka: Kafka,
  topics: string[],
  dedupeRetentionMs: number,
  logger: Logger,
): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['retention.ms'],
      })),
    });
    for (const resource of described.resources) {
      const value = resource.configEntries.find((entry) => entry.configName === 'retention.ms')?.configValue;
      const retentionMs = Number(value);
      if (value !== undefined && (retentionMs < 0 || retentionMs > dedupeRetentionMs)) {
        logger.warn(
          { topic: resource.resourceName, retentionMs, dedupeRetentionMs },
          'topic keeps messages longer than DEDUPE_RETENTION; a redelivery older than the retention would count twice',
        );
      }
    }
  } finally {
    await admin.disconnect();
  }
}
