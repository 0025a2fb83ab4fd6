import { ChaosBroker } from './broker';
import { FaultPoint, Fleet } from './fleet';
import { PostgresCluster } from './postgres-cluster';
import { SeededRandom } from './random';

export const FAULT_KINDS = [
  'kill-before-db-commit',
  'kill-after-db-commit',
  'kill-after-relay-send',
  'kill-random',
  'pause-past-session-timeout',
  'broker-kill-restart',
  'postgres-restart-immediate',
  'scale-1-3-1',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

const POINT_OF_KIND: Partial<Record<FaultKind, FaultPoint>> = {
  'kill-before-db-commit': 'before-db-commit',
  'kill-after-db-commit': 'after-db-commit',
  'kill-after-relay-send': 'after-relay-send',
};

/** The consumer's session timeout in the service; a paused process must stay stopped longer. */
const SESSION_TIMEOUT_MS = 15_000;
const RECOVERY_TIMEOUT_MS = 180_000;
const FAULT_POINT_TIMEOUT_MS = 120_000;

export interface PlannedFault {
  kind: FaultKind;
  /** Seconds to wait after the previous fault recovered. */
  gapSeconds: number;
  /** Which running slot, as an index into the sorted slot list (modulo its length). */
  slotIndex: number;
  /** For a fault point: the hit that kills the process. For a random kill or a pause: milliseconds. */
  amount: number;
}

/**
 * Draws the fault schedule: every kind once, in a seeded order, then `extra` more of the kinds
 * that a long run can repeat cheaply, with gaps that spread them over `durationSeconds`.
 */
export function planFaults(random: SeededRandom, durationSeconds: number, extra: number): PlannedFault[] {
  const repeatable: FaultKind[] = [
    'kill-before-db-commit',
    'kill-after-db-commit',
    'kill-after-relay-send',
    'kill-random',
    'pause-past-session-timeout',
    'broker-kill-restart',
    'postgres-restart-immediate',
  ];
  const kinds = [
    ...random.shuffle(FAULT_KINDS),
    ...Array.from({ length: extra }, () => random.pick(repeatable)),
  ];
  // Recovering from one fault takes about 20 s, so the gaps only fill what is left of the duration.
  const spare = Math.max(0, durationSeconds * 0.8 - kinds.length * 20);
  const meanGap = spare / kinds.length;
  return kinds.map((kind) => ({
    kind,
    gapSeconds: Math.max(2, Math.round(meanGap * (0.5 + random.next()))),
    slotIndex: random.int(0, 1000),
    amount: POINT_OF_KIND[kind] !== undefined ? random.int(1, 4) : random.int(0, 3000),
  }));
}

export interface FaultRecord {
  kind: FaultKind;
  target: string;
  startedAtSeconds: number;
  recoveredAfterSeconds: number;
  /** For a fault point: whether the armed process killed itself there. */
  fired?: boolean;
  note?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Carries out planned faults against the fleet, the broker and the database, and waits for recovery after each. */
export class FaultInjector {
  readonly done: FaultRecord[] = [];

  constructor(
    private readonly fleet: Fleet,
    private readonly broker: ChaosBroker,
    private readonly postgres: PostgresCluster,
    private readonly instances: number,
    private readonly startedAt: number,
    private readonly say: (message: string) => void,
  ) {}

  private seconds(): number {
    return Math.round((Date.now() - this.startedAt) / 1000);
  }

  private targetSlot(fault: PlannedFault): number {
    const slots = this.fleet.slotNumbers();
    return slots[fault.slotIndex % slots.length];
  }

  async run(fault: PlannedFault): Promise<FaultRecord> {
    const startedAtSeconds = this.seconds();
    const started = Date.now();
    const record: FaultRecord = { kind: fault.kind, target: '', startedAtSeconds, recoveredAfterSeconds: 0 };
    this.say(`fault ${this.done.length + 1}: ${fault.kind}`);
    const point = POINT_OF_KIND[fault.kind];
    if (point !== undefined) {
      await this.faultPoint(fault, point, record);
    } else if (fault.kind === 'kill-random') {
      const slot = this.targetSlot(fault);
      const instance = this.fleet.instance(slot)!;
      record.target = instance.name;
      await sleep(fault.amount);
      await instance.kill();
      this.fleet.start(slot);
    } else if (fault.kind === 'pause-past-session-timeout') {
      const instance = this.fleet.instance(this.targetSlot(fault))!;
      record.target = instance.name;
      instance.signal('SIGSTOP');
      await sleep(SESSION_TIMEOUT_MS + 5000 + fault.amount);
      instance.signal('SIGCONT');
    } else if (fault.kind === 'broker-kill-restart') {
      record.target = `broker pid ${await this.broker.kill()}`;
      await sleep(1000 + fault.amount);
      await this.broker.start();
    } else if (fault.kind === 'postgres-restart-immediate') {
      record.target = 'postgres';
      await this.postgres.restartImmediate();
    } else {
      record.target = 'fleet';
      await this.scale(1);
      await this.scale(3);
      await this.scale(1);
      await this.scale(this.instances);
    }
    await this.recover(record);
    record.recoveredAfterSeconds = Math.round((Date.now() - started) / 1000);
    this.done.push(record);
    return record;
  }

  /**
   * Replaces one process by one armed to kill itself at `point`, waits until it did, and lets
   * the fleet restart the slot. Only the process that holds the relay lock reaches the relay's
   * point, so the wait can be long while other processes win the lock.
   */
  private async faultPoint(fault: PlannedFault, point: FaultPoint, record: FaultRecord): Promise<void> {
    const slot = this.targetSlot(fault);
    const armed = await this.fleet.replace(slot, { point, hits: fault.amount });
    record.target = `${armed.name} (${point}:${fault.amount})`;
    const timeout = sleep(FAULT_POINT_TIMEOUT_MS).then(() => 'timeout' as const);
    const outcome = await Promise.race([armed.exited.then(() => 'exited' as const), timeout]);
    record.fired = armed.firedPoint === point;
    if (outcome === 'timeout') {
      record.note = `the process did not reach ${point} ${fault.amount} times within ${FAULT_POINT_TIMEOUT_MS / 1000} s`;
      await this.fleet.replace(slot);
    }
  }

  private async scale(count: number): Promise<void> {
    const slots = this.fleet.slotNumbers();
    for (const slot of slots.slice(count).reverse()) {
      await this.fleet.remove(slot);
    }
    for (let slot = 0; this.fleet.size < count; slot++) {
      if (this.fleet.instance(slot) === undefined) {
        this.fleet.start(slot);
      }
    }
    this.say(`  fleet scaled to ${count}`);
    if (!(await this.fleet.waitAllReady(RECOVERY_TIMEOUT_MS))) {
      throw new Error(`the fleet was not ready ${RECOVERY_TIMEOUT_MS / 1000} s after scaling to ${count}`);
    }
  }

  private async recover(record: FaultRecord): Promise<void> {
    // Give a restarted process a moment to exit on its own before readiness is polled.
    await sleep(1000);
    if (!(await this.fleet.waitAllReady(RECOVERY_TIMEOUT_MS))) {
      throw new Error(`the fleet was not ready ${RECOVERY_TIMEOUT_MS / 1000} s after ${record.kind}`);
    }
  }
}
