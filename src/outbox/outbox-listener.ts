import { Client } from 'pg';
import { Logger } from 'pino';

import { errorMessage } from '../common/errors/error-class';
import { sleep } from '../common/time/backoff';

const RECONNECT_DELAY_MS = 2000;

/**
 * Keeps a dedicated connection in `LISTEN` on the outbox channel and calls `onNotify` for every
 * notification; after a lost connection it reconnects and listens again. Polling covers the gap.
 */
export class OutboxListener {
  private client?: Client;
  private running = false;
  private readonly stopped = new AbortController();

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly logger: Logger,
    private readonly onNotify: () => void,
  ) {}

  start(): void {
    this.running = true;
    void this.connectLoop();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopped.abort();
    await this.client?.end().catch(() => undefined);
  }

  private async connectLoop(): Promise<void> {
    while (this.running) {
      const client = new Client({ connectionString: this.url });
      const lost = new Promise<void>((resolve) => {
        client.on('error', (error) => {
          this.logger.warn({ error: errorMessage(error) }, 'outbox listener connection failed');
          resolve();
        });
        client.on('end', () => resolve());
      });
      try {
        await client.connect();
        client.on('notification', () => this.onNotify());
        await client.query(`LISTEN ${this.channel}`);
        this.client = client;
        this.onNotify();
        await lost;
      } catch (error) {
        this.logger.warn(
          { error: errorMessage(error) },
          'outbox listener could not connect; polling covers the gap',
        );
      }
      this.client = undefined;
      await client.end().catch(() => undefined);
      await sleep(RECONNECT_DELAY_MS, this.stopped.signal);
    }
  }
}
