import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export type FaultPoint = 'before-db-commit' | 'after-db-commit' | 'after-relay-send';

interface InstanceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One service process of the fleet. Its output goes to a log file of the run and is scanned for a few lines. */
export class ServiceInstance {
  port = 0;
  /** When the process logged that its consumer joined the group (epoch ms). */
  joinedAt?: number;
  /** The fault point this process reported just before it killed itself. */
  firedPoint?: FaultPoint;
  /** Set when the harness itself stops or kills the process, so the exit is not taken for a crash. */
  expectedExit = false;
  readonly exited: Promise<InstanceExit>;
  exitResult?: InstanceExit;
  private readonly child: ChildProcess;
  private readonly log: WriteStream;

  constructor(
    readonly name: string,
    repoRoot: string,
    logDir: string,
    env: Record<string, string>,
    readonly armedPoint?: FaultPoint,
  ) {
    this.log = createWriteStream(join(logDir, `${name}.log`));
    this.child = spawn(
      process.execPath,
      ['--disable-warning=TimeoutNegativeWarning', join(repoRoot, 'dist', 'src', 'main.js')],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.exited = new Promise((resolve) => {
      // 'close' comes after the output streams ended, so a fault point's last log line is scanned first.
      this.child.on('close', (code, signal) => {
        this.exitResult = { code, signal };
        this.log.end();
        resolve(this.exitResult);
      });
    });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => this.scan(line));
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exitResult === undefined;
  }

  private scan(line: string): void {
    this.log.write(`${line}\n`);
    if (!line.startsWith('{')) {
      return;
    }
    try {
      const entry = JSON.parse(line) as { msg?: string; port?: number; point?: FaultPoint };
      if (entry.msg === 'service started' && typeof entry.port === 'number') {
        this.port = entry.port;
      } else if (entry.msg === 'joined consumer group') {
        this.joinedAt ??= Date.now();
      } else if (entry.msg?.startsWith('test fault point reached') === true && entry.point !== undefined) {
        this.firedPoint = entry.point;
      }
    } catch {
      // A line that only looks like JSON is kept in the log file and otherwise ignored.
    }
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) {
      this.child.kill(signal);
    }
  }

  /** Fetches `/health/ready` and returns whether the status was 200. */
  async isReady(): Promise<boolean> {
    if (this.port === 0 || !this.running) {
      return false;
    }
    try {
      const response = await fetch(`http://127.0.0.1:${this.port}/health/ready`, {
        signal: AbortSignal.timeout(2000),
      });
      await response.arrayBuffer();
      return response.status === 200;
    } catch {
      return false;
    }
  }

  /** Sends SIGTERM and waits; SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 40_000): Promise<InstanceExit> {
    this.expectedExit = true;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async kill(): Promise<InstanceExit> {
    this.expectedExit = true;
    this.signal('SIGKILL');
    return this.exited;
  }
}

export interface UnexpectedExit {
  name: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  atSeconds: number;
}

/**
 * The service processes of one consumer group, in numbered slots. A process that exits without
 * the harness asking (a crash, or a test fault point) is replaced in its slot, as a supervisor
 * such as Kubernetes would do, and the exit is recorded.
 */
export class Fleet {
  private readonly slots = new Map<number, ServiceInstance>();
  private generation = 0;
  readonly unexpectedExits: UnexpectedExit[] = [];
  readonly firedPoints: FaultPoint[] = [];
  private closing = false;

  constructor(
    private readonly repoRoot: string,
    private readonly logDir: string,
    private readonly baseEnv: Record<string, string>,
    private readonly startedAt: number,
    private readonly say: (message: string) => void,
  ) {}

  get size(): number {
    return this.slots.size;
  }

  instances(): ServiceInstance[] {
    return [...this.slots.values()];
  }

  slotNumbers(): number[] {
    return [...this.slots.keys()].sort((a, b) => a - b);
  }

  instance(slot: number): ServiceInstance | undefined {
    return this.slots.get(slot);
  }

  /** Starts a process in `slot`, armed to kill itself the `hits`-th time it reaches `point`. */
  start(
    slot: number,
    armed?: { point: FaultPoint; hits: number },
    overrides: Record<string, string> = {},
  ): ServiceInstance {
    this.generation++;
    const env: Record<string, string> = { ...this.baseEnv, ...overrides };
    if (armed !== undefined) {
      env.TEST_FAULT_POINTS = `${armed.point}:${armed.hits}`;
    }
    const name = `instance-${slot}-${this.generation}`;
    const instance = new ServiceInstance(name, this.repoRoot, this.logDir, env, armed?.point);
    this.slots.set(slot, instance);
    void instance.exited.then((exit) => this.onExit(slot, instance, exit));
    return instance;
  }

  private onExit(slot: number, instance: ServiceInstance, exit: InstanceExit): void {
    if (instance.firedPoint !== undefined) {
      this.firedPoints.push(instance.firedPoint);
    }
    if (instance.expectedExit || this.closing || this.slots.get(slot) !== instance) {
      return;
    }
    if (instance.firedPoint === undefined) {
      const atSeconds = Math.round((Date.now() - this.startedAt) / 1000);
      this.unexpectedExits.push({ name: instance.name, ...exit, atSeconds });
      this.say(
        `${instance.name} exited on its own (code ${exit.code}, signal ${exit.signal}); restarting slot ${slot}`,
      );
    } else {
      this.say(
        `${instance.name} killed itself at fault point ${instance.firedPoint}; restarting slot ${slot}`,
      );
    }
    setTimeout(() => {
      if (!this.closing && this.slots.get(slot) === instance) {
        this.start(slot);
      }
    }, 500);
  }

  /** Stops the process in `slot` with SIGTERM and forgets the slot. */
  async remove(slot: number): Promise<void> {
    const instance = this.slots.get(slot);
    this.slots.delete(slot);
    await instance?.stop();
  }

  /** Replaces the process in `slot` with a new one, after a graceful stop of the old one. */
  async replace(slot: number, armed?: { point: FaultPoint; hits: number }): Promise<ServiceInstance> {
    await this.slots.get(slot)?.stop();
    return this.start(slot, armed);
  }

  /** Waits until every slot's process reports ready, and returns false when `timeoutMs` passes first. */
  async waitAllReady(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(this.instances().map((instance) => instance.isReady()));
      if (states.length > 0 && states.every(Boolean)) {
        return true;
      }
      if (Date.now() > deadline) {
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** Any ready process, for REST calls. */
  async readyInstance(timeoutMs: number): Promise<ServiceInstance> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const instance of this.instances()) {
        if (await instance.isReady()) {
          return instance;
        }
      }
      if (Date.now() > deadline) {
        throw new Error(`no service instance became ready within ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  async stopAll(): Promise<void> {
    this.closing = true;
    await Promise.all(this.instances().map((instance) => instance.stop()));
    this.slots.clear();
  }

  killAll(): void {
    this.closing = true;
    for (const instance of this.instances()) {
      instance.expectedExit = true;
      instance.signal('SIGCONT');
      instance.signal('SIGKILL');
    }
  }
}
