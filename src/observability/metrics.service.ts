import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The service's Prometheus metrics, in a registry of its own. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly events = new Counter({
    name: 'quota_events_total',
    help: 'Inbound events by topic and outcome (applied, duplicate, dead_lettered).',
    labelNames: ['topic', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly deadLetters = new Counter({
    name: 'quota_dead_letters_total',
    help: 'Messages copied to the dead-letter topic, by reason code.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly underflows = new Counter({
    name: 'quota_usage_underflows_total',
    help: 'Usage decreases that would have gone below zero and were clamped at zero.',
    registers: [this.registry],
  });

  readonly retries = new Counter({
    name: 'quota_batch_retries_total',
    help: 'Retried batch transactions, by error class.',
    labelNames: ['class'] as const,
    registers: [this.registry],
  });

  readonly batchDuration = new Histogram({
    name: 'quota_batch_duration_seconds',
    help: 'Time to process one inbound sub-batch, from decoding to the DLQ acknowledgement.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly lockEventsPublished = new Counter({
    name: 'quota_lock_events_published_total',
    help: 'Lock events the outbox relay sent to the lock topic.',
    registers: [this.registry],
  });

  readonly outboxBacklog = new Gauge({
    name: 'quota_outbox_backlog',
    help: 'Outbox rows not yet published, as of the last relay cycle.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
