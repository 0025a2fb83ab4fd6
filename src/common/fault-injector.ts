import { Inject, Injectable } from '@nestjs/common';
import { writeSync } from 'node:fs';

import { APP_CONFIG } from '../config/app-config';
import type { AppConfig } from '../config/app-config';

export type FaultPoint = 'before-db-commit' | 'after-db-commit' | 'after-relay-send';

/**
 * Test-only crash points. With `TEST_FAULT_POINTS=point:N` the process kills itself with SIGKILL
 * the N-th time it reaches that point; without the variable every call is a no-op.
 */
@Injectable()
export class FaultInjector {
  private readonly hits = new Map<string, number>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  reach(point: FaultPoint): void {
    const target = this.config.faultPoints.get(point);
    if (target === undefined) {
      return;
    }
    const count = (this.hits.get(point) ?? 0) + 1;
    this.hits.set(point, count);
    if (count >= target) {
      writeSync(
        2,
        `${JSON.stringify({ level: 'fatal', msg: 'test fault point reached; killing process', point })}\n`,
      );
      process.kill(process.pid, 'SIGKILL');
    }
  }
}
