import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const START_TIMEOUT_MS = 150_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The run's own single-node Kafka broker, driven through `scripts/kafka-broker.sh` with a state
 * folder and ports of the run. `kill` sends SIGKILL, so the broker restarts from its log as after
 * a crash.
 */
export class ChaosBroker {
  constructor(
    private readonly repoRoot: string,
    readonly stateDir: string,
    readonly port: number,
    private readonly controllerPort: number,
  ) {}

  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    await this.script('start');
  }

  async stop(): Promise<void> {
    await this.script('stop').catch(() => undefined);
  }

  /** Kills the broker with SIGKILL and waits until the process is gone. */
  async kill(): Promise<number> {
    const pid = Number(readFileSync(join(this.stateDir, 'broker.pid'), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) {
      throw new Error(`no broker PID in ${this.stateDir}/broker.pid`);
    }
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 30_000;
    while (isAlive(pid)) {
      if (Date.now() > deadline) {
        throw new Error(`broker pid ${pid} still runs 30 s after SIGKILL`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return pid;
  }

  private async script(command: 'start' | 'stop'): Promise<void> {
    try {
      await run(join(this.repoRoot, 'scripts', 'kafka-broker.sh'), [command], {
        timeout: START_TIMEOUT_MS,
        env: {
          ...process.env,
          KAFKA_LOCAL_DIR: this.stateDir,
          KAFKA_PORT: String(this.port),
          KAFKA_CONTROLLER_PORT: String(this.controllerPort),
        },
      });
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`scripts/kafka-broker.sh ${command} failed:\n${stderr}`, { cause: error });
    }
  }
}
