import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { REPO_ROOT } from '../support/environment';

/** Settings of the short run: every fault kind once, on a workload small enough for a few minutes. */
const SHORT_RUN = {
  SEED: process.env.CHAOS_TEST_SEED ?? 'make-test',
  EVENTS: '12000',
  CUSTOMERS: '120',
  INSTANCES: '3',
  DURATION: '60',
  EXTRA_FAULTS: '0',
};
const RUN_TIMEOUT_MS = 15 * 60_000;

interface ChaosReport {
  passed: boolean;
  failures: string[];
  figures: Record<string, number>;
  faultsByKind: Record<string, number>;
  faultPointsFired: Record<string, number>;
}

function runChaos(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // A process group of its own, so a timeout stops the harness too, not only its wrapper.
    const child = spawn('bash', [join(REPO_ROOT, 'scripts', 'run-chaos.sh')], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const chunks: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGTERM'), RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: chunks.join('') });
    });
  });
}

function figuresOf(output: string): Record<string, number> {
  const line = output.split('\n').find((text) => text.startsWith('chaos: events='));
  if (line === undefined) {
    throw new Error(`the run printed no result line:\n${output.slice(-4000)}`);
  }
  return Object.fromEntries(
    line
      .slice('chaos: '.length)
      .split(' ')
      .map((pair) => pair.split('='))
      .map(([name, value]) => [name, Number(value)]),
  );
}

describe('chaos run', () => {
  let folder: string;
  let result: { code: number | null; output: string };
  let report: ChaosReport;

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'chaos-test-'));
    const reportFile = join(folder, 'report.json');
    result = await runChaos({ ...SHORT_RUN, CHAOS_REPORT: reportFile });
    console.log(
      result.output
        .split('\n')
        .filter((line) => !line.includes(' sent '))
        .join('\n'),
    );
    report = JSON.parse(readFileSync(reportFile, 'utf8')) as ChaosReport;
  }, RUN_TIMEOUT_MS + 60_000);

  afterAll(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('exits with status 0', () => {
    expect(report.failures).toEqual([]);
    expect(result.code).toBe(0);
  });

  it('loses and double-counts nothing', () => {
    const figures = figuresOf(result.output);

    expect(figures.events).toBe(12000);
    expect(figures.applied).toBeGreaterThan(0);
    expect(figures.lost).toBe(0);
    expect(figures.double_counted).toBe(0);
  });

  it('accounts for every lock event', () => {
    const figures = figuresOf(result.output);

    expect(figures.lock_missing).toBe(0);
    expect(figures.lock_extra).toBe(0);
  });

  it('dead-letters exactly the poison', () => {
    const figures = figuresOf(result.output);

    expect(figures.poison).toBeGreaterThanOrEqual(10);
    expect(figures.dead_lettered).toBe(figures.poison);
  });

  it('injects every fault kind', () => {
    expect(Object.keys(report.faultsByKind).sort()).toEqual([
      'broker-kill-restart',
      'kill-after-db-commit',
      'kill-after-relay-send',
      'kill-before-db-commit',
      'kill-random',
      'pause-past-session-timeout',
      'postgres-restart-immediate',
      'scale-1-3-1',
    ]);
    expect(figuresOf(result.output).kinds).toBe(8);
  });

  it('fires every fault point', () => {
    expect(Object.keys(report.faultPointsFired).sort()).toEqual([
      'after-db-commit',
      'after-relay-send',
      'before-db-commit',
    ]);
  });
});
