/** Settings of one chaos run, read from the environment (make passes its variables through). */
export interface ChaosSettings {
  seed: string;
  events: number;
  customers: number;
  instances: number;
  durationSeconds: number;
  /** Faults beyond one of every kind. */
  extraFaults: number;
  stateDir: string;
  reportFile: string;
  keepState: boolean;
}

export class SettingsError extends Error {}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const text = env[name];
  if (text === undefined || text === '') {
    return fallback;
  }
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new SettingsError(`invalid ${name}=${text}; set a whole number from ${min} to ${max}`);
  }
  return Number(text);
}

export function loadSettings(env: NodeJS.ProcessEnv): ChaosSettings {
  const seed = env.SEED === undefined || env.SEED === '' ? '1' : env.SEED;
  // The seed is part of the report's file name, so it takes no path separators.
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(seed)) {
    throw new SettingsError(`invalid SEED=${seed}; use 1 to 64 letters, digits, '.', '_' or '-'`);
  }
  const events = integer(env, 'EVENTS', 100_000, 1_000, 5_000_000);
  const customers = integer(env, 'CUSTOMERS', 1_000, 10, 100_000);
  if (customers * 5 > events) {
    throw new SettingsError(
      `EVENTS=${events} is too few for CUSTOMERS=${customers}; send at least 5 events per customer`,
    );
  }
  const durationSeconds = integer(env, 'DURATION', 300, 30, 86_400);
  const stateDir = env.CHAOS_STATE_DIR ?? '';
  if (stateDir === '') {
    throw new SettingsError(
      'CHAOS_STATE_DIR is not set; start the run with make chaos or scripts/run-chaos.sh',
    );
  }
  return {
    seed,
    events,
    customers,
    instances: integer(env, 'INSTANCES', 3, 1, 6),
    durationSeconds,
    extraFaults: integer(env, 'EXTRA_FAULTS', Math.floor(durationSeconds / 100), 0, 1000),
    stateDir,
    reportFile: env.CHAOS_REPORT ?? '',
    keepState: env.CHAOS_KEEP_STATE === '1',
  };
}
