import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Finds the newest PostgreSQL server binaries of the Debian layout, or those on PATH. */
function findBinaryDir(): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) {
      return join(root, versions[0], 'bin');
    }
  }
  return '';
}

/**
 * A throwaway PostgreSQL cluster in a folder of the run, on its own loopback port, so the chaos
 * run can restart it with `pg_ctl restart -m immediate` (a crash restart with WAL recovery)
 * without touching any other server. initdb refuses to run as root, so as root the cluster
 * belongs to the `postgres` user.
 */
export class PostgresCluster {
  private readonly binaryDir = findBinaryDir();
  readonly dataDir: string;
  private readonly socketDir: string;
  private readonly logFile: string;

  constructor(
    private readonly stateDir: string,
    readonly port: number,
  ) {
    this.dataDir = join(stateDir, 'pgdata');
    this.socketDir = join(stateDir, 'pgsocket');
    this.logFile = join(stateDir, 'postgres.log');
  }

  get adminUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  databaseUrl(name: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${name}`;
  }

  private binary(name: string): string {
    return this.binaryDir === '' ? name : join(this.binaryDir, name);
  }

  private async asOwner(command: string, args: string[]): Promise<string> {
    const isRoot = process.getuid?.() === 0;
    const [file, fullArgs] = isRoot
      ? ['runuser', ['-u', 'postgres', '--', command, ...args]]
      : [command, args];
    const { stdout } = await run(file, fullArgs, { timeout: 120_000 });
    return stdout;
  }

  /** Creates the cluster and starts it; fsync stays on so the immediate restart recovers for real. */
  async create(): Promise<void> {
    for (const dir of [this.stateDir, this.socketDir]) {
      mkdirSync(dir, { recursive: true });
    }
    if (process.getuid?.() === 0) {
      const owner = statSync(this.stateDir);
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: group } = await run('id', ['-g', 'postgres']);
      if (owner.uid !== Number(stdout)) {
        chownSync(this.stateDir, Number(stdout), Number(group));
      }
      chownSync(this.socketDir, Number(stdout), Number(group));
    }
    await this.asOwner(this.binary('initdb'), [
      '-D',
      this.dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-sync',
    ]);
    await this.start();
  }

  private serverOptions(): string {
    return [
      `-p ${this.port}`,
      `-k ${this.socketDir}`,
      '-c listen_addresses=127.0.0.1',
      '-c max_connections=200',
      '-c shared_buffers=128MB',
    ].join(' ');
  }

  async start(): Promise<void> {
    await this.asOwner(this.binary('pg_ctl'), [
      '-D',
      this.dataDir,
      '-o',
      this.serverOptions(),
      '-l',
      this.logFile,
      '-w',
      '-t',
      '60',
      'start',
    ]);
  }

  /** Stops the server without a checkpoint (as a crash would) and starts it again, which replays the WAL. */
  async restartImmediate(): Promise<void> {
    await this.asOwner(this.binary('pg_ctl'), [
      '-D',
      this.dataDir,
      '-m',
      'immediate',
      '-o',
      this.serverOptions(),
      '-l',
      this.logFile,
      '-w',
      '-t',
      '60',
      'restart',
    ]);
  }

  async stop(): Promise<void> {
    if (!existsSync(join(this.dataDir, 'postmaster.pid'))) {
      return;
    }
    await this.asOwner(this.binary('pg_ctl'), ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']).catch(
      () => undefined,
    );
  }
}
