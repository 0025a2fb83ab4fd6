import { TEST_TOKEN } from './http';
import { TestKafka } from './kafka';
import { ServiceProcess } from './service-process';
import { createTestDatabase, TestDatabase } from './test-database';

/** One test file's world: its own database, topics and consumer group, and the service processes it started. */
export class ServiceFixture {
  readonly kafka: TestKafka;
  database!: TestDatabase;
  private readonly services: ServiceProcess[] = [];

  constructor(readonly label: string) {
    this.kafka = new TestKafka(label);
  }

  async setUp(): Promise<void> {
    this.database = await createTestDatabase();
    await this.kafka.createTopics();
  }

  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...this.kafka.serviceEnv(),
      DATABASE_URL: this.database.url,
      SERVICE_TOKEN: TEST_TOKEN,
      RELAY_POLL_MS: '200',
      SHUTDOWN_TIMEOUT_MS: '15000',
      ...extra,
    };
  }

  async start(extra: Record<string, string> = {}): Promise<ServiceProcess> {
    const service = await ServiceProcess.start(this.env(extra));
    this.services.push(service);
    return service;
  }

  spawn(extra: Record<string, string> = {}): ServiceProcess {
    const service = ServiceProcess.spawn(this.env(extra));
    this.services.push(service);
    return service;
  }

  async tearDown(): Promise<void> {
    for (const service of this.services) {
      if (!service.hasExited) {
        await service.kill();
      }
    }
    await this.kafka.disconnect();
    await this.database?.drop();
  }
}
