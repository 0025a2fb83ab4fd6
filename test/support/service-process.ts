import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

import { REPO_ROOT } from './environment';

/** Children still alive; killed when the test process exits, so a failed run leaks no service. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) {
    child.kill('SIGKILL');
  }
});

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * The compiled service (`dist/src/main.js`, built by `make test`) as a child process, so tests
 * can kill it with real signals. Every JSON log line it prints is kept for assertions.
 */
export class ServiceProcess {
  readonly logs: LogLine[] = [];
  readonly rawOutput: string[] = [];
  port = 0;
  private readonly child: ChildProcess;
  private readonly exited: Promise<ExitResult>;
  private exitResult?: ExitResult;

  private constructor(env: Record<string, string>) {
    this.child = spawn(
      process.execPath,
      ['--disable-warning=TimeoutNegativeWarning', join(REPO_ROOT, 'dist', 'src', 'main.js')],
      {
        env: { PATH: process.env.PATH ?? '', TEST_RUN_ID: process.env.TEST_RUN_ID ?? '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    running.add(this.child);
    this.child.on('exit', () => running.delete(this.child));
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitResult = { code, signal };
        resolve(this.exitResult);
      });
    });
    this.collect(this.child.stdout!);
    this.collect(this.child.stderr!);
  }

  /** Starts the service and waits until it listens and its consumer joined the group. */
  static async start(env: Record<string, string>, timeoutMs = 60_000): Promise<ServiceProcess> {
    const service = new ServiceProcess({
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'debug',
      APP_ENV: 'test',
      ...env,
    });
    const started = await service.waitForLog((line) => line.msg === 'service started', timeoutMs);
    service.port = Number(started.port);
    await service.waitForLog((line) => line.msg === 'joined consumer group', timeoutMs);
    return service;
  }

  /** Starts the service without waiting for it; for tests of start-up failures. */
  static spawn(env: Record<string, string>): ServiceProcess {
    return new ServiceProcess({ HOST: '127.0.0.1', PORT: '0', APP_ENV: 'test', ...env });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get hasExited(): boolean {
    return this.exitResult !== undefined;
  }

  async waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    let checked = 0;
    for (;;) {
      for (; checked < this.logs.length; checked++) {
        if (predicate(this.logs[checked])) {
          return this.logs[checked];
        }
      }
      if (this.hasExited) {
        throw new Error(
          `service exited (${JSON.stringify(this.exitResult)}) before the expected log line:\n${this.tail()}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(`expected log line did not appear within ${timeoutMs} ms:\n${this.tail()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  countLogs(predicate: (line: LogLine) => boolean): number {
    return this.logs.filter(predicate).length;
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.hasExited) {
      this.child.kill(signal);
    }
  }

  async waitForExit(timeoutMs = 60_000): Promise<ExitResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`service did not exit within ${timeoutMs} ms:\n${this.tail()}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends SIGTERM and waits for the exit; SIGKILL after `timeoutMs` so a test never leaks a process. */
  async stop(timeoutMs = 30_000): Promise<ExitResult> {
    this.signal('SIGTERM');
    try {
      return await this.waitForExit(timeoutMs);
    } catch (error) {
      this.signal('SIGKILL');
      await this.exited;
      throw error;
    }
  }

  async kill(): Promise<ExitResult> {
    this.signal('SIGKILL');
    return this.exited;
  }

  tail(lines = 40): string {
    return this.rawOutput.slice(-lines).join('\n');
  }

  private collect(stream: NodeJS.ReadableStream): void {
    let buffer = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffer += chunk;
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        this.rawOutput.push(line);
        if (line.startsWith('{')) {
          try {
            this.logs.push(JSON.parse(line) as LogLine);
          } catch {
            // Not a log line; kept in rawOutput only.
          }
        }
        newline = buffer.indexOf('\n');
      }
    });
  }
}
