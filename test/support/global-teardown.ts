/** Stops containers started by the global setup; servers from the environment are left alone. */
export default async function globalTeardown(): Promise<void> {
  await (globalThis as { stopTestServers?: () => Promise<void> }).stopTestServers?.();
}
