// Drops the databases whose names start with the given prefix: node drop-test-databases.cjs URL PREFIX
const { Client } = require('pg');

async function main() {
  const [url, prefix] = process.argv.slice(2);
  if (!url || !/^quota_lock_test_[a-z0-9_]*$/.test(prefix ?? '')) {
    throw new Error('usage: drop-test-databases.cjs ADMIN_URL quota_lock_test_<prefix>');
  }
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const found = await client.query('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [
      prefix,
    ]);
    for (const { datname } of found.rows) {
      await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
    if (found.rows.length > 0) {
      process.stderr.write(`drop-test-databases: dropped ${found.rows.length} leftover test database(s)\n`);
    }
  } finally {
    await client.end();
  }
}

main().catch((error) => {
  process.stderr.write(`drop-test-databases: ${error.message}\n`);
  process.exit(1);
});
