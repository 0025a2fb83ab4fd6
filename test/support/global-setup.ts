import { resolveTestServers } from './environment';

/** Resolves the broker and database once and hands them to every test file through the environment. */
export default async function globalSetup(): Promise<void> {
  const servers = await resolveTestServers();
  process.env.KAFKA_BROKERS = servers.kafkaBrokers;
  process.env.TEST_DATABASE_URL = servers.adminDatabaseUrl;
  process.env.TEST_RUN_ID ??= Math.random().toString(16).slice(2, 10);
  (globalThis as { stopTestServers?: () => Promise<void> }).stopTestServers = servers.stop;
  process.stdout.write(
    `\nintegration servers (${servers.source}): kafka ${servers.kafkaBrokers}, postgres ${new URL(servers.adminDatabaseUrl).host}\n`,
  );
}
