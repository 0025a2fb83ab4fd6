/**
 * The service under demonstration: the compiled `dist/src/main.js` as a child process whose JSON log
 * goes to a file, plus the HTTP calls the demo makes to it.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { parseJson } from '../src/common/json/lossless-json';

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface HttpResult {
  status: number;
  /** The raw body, whose int64 values keep every digit. */
  text: string;
  /** The body parsed with the lossless codec, so int64 values are bigint, or {} when the body is not JSON. */
  body: Record<string, unknown>;
}

export interface ServiceOptions {
  repoRoot: string;
  port: number;
  token: string;
  logPath: string;
  /** File that contains the child's PID while it runs, so the calling shell can stop a leftover service. */
  pidPath: string;
  env: Record<string, string>;
}

const REQUEST_TIMEOUT_MS = 5000;

export class DemoService {
  readonly baseUrl: string;
  private readonly child: ChildProcess;
  private readonly exited: Promise<ExitResult>;
  private exitResult?: ExitResult;
  private stopping?: Promise<ExitResult>;

  private constructor(private readonly options: ServiceOptions) {
    this.baseUrl = `http://127.0.0.1:${options.port}`;
    const log = openSync(options.logPath, 'a');
    try {
      // A process group of its own keeps a Ctrl-C in the terminal away from the service, so the
      // demo stops it with SIGTERM in its own order.
      this.child = spawn(
        process.execPath,
        ['--disable-warning=TimeoutNegativeWarning', join(options.repoRoot, 'dist', 'src', 'main.js')],
        { cwd: options.repoRoot, env: options.env, stdio: ['ignore', log, log], detached: true },
      );
    } finally {
      closeSync(log);
    }
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitResult = { code, signal };
        rmSync(options.pidPath, { force: true });
        resolve(this.exitResult);
      });
    });
    if (this.child.pid !== undefined) {
      writeFileSync(options.pidPath, `${this.child.pid}\n`);
    }
  }

  static start(options: ServiceOptions): DemoService {
    return new DemoService(options);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get hasExited(): boolean {
    return this.exitResult !== undefined;
  }

  /** Polls `/health/ready` until it returns 200, and throws when the service exits or `timeoutMs` passes. */
  async waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: string;
    for (;;) {
      if (this.exitResult) {
        throw new Error(`the service exited (${describeExit(this.exitResult)}) before it was ready`);
      }
      try {
        const result = await this.request('GET', '/health/ready', undefined, null);
        if (result.status === 200) {
          return;
        }
        last = `status ${result.status}: ${result.text.slice(0, 200)}`;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      if (Date.now() > deadline) {
        throw new Error(`GET /health/ready did not return 200 within ${timeoutMs} ms; last: ${last}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Sends a request with the service token, or without one when `token` is null. */
  async request(
    method: string,
    path: string,
    body?: string,
    token: string | null = this.options.token,
  ): Promise<HttpResult> {
    const headers: Record<string, string> = {};
    if (token !== null) {
      headers['X-Sds-Service-Token'] = token;
    }
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
    }
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = parseJson(text) as Record<string, unknown>;
    } catch {
      // The metrics endpoint returns Prometheus text, which callers read from `text`.
    }
    return { status: response.status, text, body: parsed };
  }

  /** Sends SIGTERM once and waits for the exit, and sends SIGKILL when `timeoutMs` passes first. */
  stop(timeoutMs: number): Promise<ExitResult> {
    this.stopping ??= this.terminate(timeoutMs);
    return this.stopping;
  }

  /** Returns the last `count` log lines other than HTTP access lines, shortened for an error report. */
  logTail(count: number): string[] {
    let text: string;
    try {
      text = readFileSync(this.options.logPath, 'utf8');
    } catch {
      return [];
    }
    // The demo's own polling causes most access log lines, and those lines do not explain a failure.
    return text
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.includes('"msg":"request completed"'))
      .slice(-count)
      .map(summarizeLogLine);
  }

  private async terminate(timeoutMs: number): Promise<ExitResult> {
    if (this.exitResult) {
      return this.exitResult;
    }
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.child.kill('SIGKILL');
      return this.exited;
    }
    return outcome;
  }
}

export function describeExit(result: ExitResult): string {
  return result.signal ? `signal ${result.signal}` : `exit code ${result.code}`;
}

const LOG_FIELDS = ['customerId', 'eventId', 'offset', 'reason'];

/** Shortens a pino JSON line to level, message, ids and error, and returns other lines as they are. */
function summarizeLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const parts = [String(entry.level), String(entry.msg)];
  for (const name of LOG_FIELDS) {
    if (typeof entry[name] === 'string') {
      parts.push(`${name}=${entry[name]}`);
    }
  }
  if (entry.error !== undefined) {
    parts.push(`error: ${typeof entry.error === 'string' ? entry.error : JSON.stringify(entry.error)}`);
  }
  return parts.join(' ');
}
