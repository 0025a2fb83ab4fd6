'use strict';
/*
 * Waits until a Kafka broker can run a consumer group, and exits 0 once it can.
 *
 * An open port is not enough for the service: a consumer also needs the group coordinator and the
 * __consumer_offsets topic, which a fresh KRaft broker creates a few seconds after it listens. So each
 * attempt creates a throwaway topic, lets a consumer with a random group id join it, then removes the
 * consumer, the group and the topic again.
 *
 * Usage: node scripts/kafka-ready.cjs --brokers 127.0.0.1:9092 [--timeout-s 90] [--pid PID]
 *   --brokers    comma-separated host:port list
 *   --timeout-s  how long to keep trying, in seconds (default 90)
 *   --pid        a process to watch: if it exits, waiting is pointless and the script stops at once
 *
 * Exit codes: 0 ready, 1 not ready before the deadline, 2 bad arguments, 3 the watched process exited.
 */
const { readFileSync } = require('node:fs');
const { randomBytes } = require('node:crypto');
const { Kafka, logLevel } = require('kafkajs');

// kafkajs 2.2.4 hands setTimeout a negative delay in its request queue, which Node 24 reports as a
// TimeoutNegativeWarning on each new connection. Node uses 1 ms instead, so only this warning is muted.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => {
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0] && rest[0].type;
  const name = warning instanceof Error ? warning.name : type;
  if (name === 'TimeoutNegativeWarning') return;
  emitWarning(warning, ...rest);
};

const PREFIX = 'kafka-broker:';
const PROGRESS_EVERY_MS = 5000;
const PAUSE_BETWEEN_ATTEMPTS_MS = 1000;
// One attempt can take a while when the coordinator is still loading. This limit is an estimate: an
// attempt that runs longer is probably stuck on a connection, and a fresh attempt gets past that sooner.
const ATTEMPT_LIMIT_MS = 20000;

function say(message) {
  process.stderr.write(`${PREFIX} ${message}\n`);
}

function fail(code, message) {
  say(message);
  process.exit(code);
}

function parseArgs(argv) {
  const options = { brokers: [], timeoutS: 90, pid: undefined };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i];
    const value = argv[i + 1];
    if (value === undefined)
      fail(2, `error: missing value for ${name}; see the usage at the top of ${__filename}`);
    if (name === '--brokers') {
      options.brokers = value.split(',').filter((broker) => broker !== '');
      if (options.brokers.length === 0 || !options.brokers.every((broker) => /^[^:\s]+:\d+$/.test(broker))) {
        fail(
          2,
          `error: invalid --brokers ${value}; pass a comma-separated host:port list such as 127.0.0.1:9092`,
        );
      }
    } else if (name === '--timeout-s') {
      options.timeoutS = Number(value);
      if (!Number.isInteger(options.timeoutS) || options.timeoutS < 1) {
        fail(2, `error: invalid --timeout-s ${value}; pass a whole number of seconds, 1 or more`);
      }
    } else if (name === '--pid') {
      options.pid = Number(value);
      if (!Number.isInteger(options.pid) || options.pid < 1) {
        fail(2, `error: invalid --pid ${value}; pass the broker's PID or leave --pid out`);
      }
    } else {
      fail(2, `error: unknown option ${name}; use --brokers, --timeout-s or --pid`);
    }
  }
  if (options.brokers.length === 0) fail(2, 'error: --brokers is missing; pass for example 127.0.0.1:9092');
  return options;
}

/** Returns whether a process still runs. A zombie counts as exited, because it will never respond. */
function isAlive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    // Without /proc, signal 0 still shows whether the process exists.
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      return error.code === 'EPERM';
    }
  }
}

function withTimeout(promise, ms, operation) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${operation} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs one throwaway topic and group through the broker, and throws when any step fails. */
async function attempt(brokers, limitMs) {
  const id = randomBytes(6).toString('hex');
  const topic = `__ready_check_${id}`;
  const groupId = `ready-check-${id}`;
  const kafka = new Kafka({
    clientId: 'kafka-ready',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    requestTimeout: 5000,
    // This script repeats whole attempts itself, so the client gives up fast instead of retrying for long.
    retry: { retries: 1, initialRetryTime: 200 },
  });
  const admin = kafka.admin();
  // A coordinator that is still loading returns COORDINATOR_NOT_AVAILABLE, so the join gets a few quick
  // retries. A consumer that crashes all the same ends the attempt instead of restarting.
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 10000,
    heartbeatInterval: 1000,
    // Disconnecting waits for the fetch in flight, which otherwise waits up to 5 s for messages that
    // never come to this empty topic.
    maxWaitTimeInMs: 100,
    retry: { retries: 5, initialRetryTime: 300, restartOnFailure: async () => false },
  });
  let topicRequested = false;
  let consumerStarted = false;
  try {
    await admin.connect();
    // Set before the call: the topic can exist even when waiting for its leader fails afterwards.
    topicRequested = true;
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
      timeout: 5000,
    });
    const joined = new Promise((resolve, reject) => {
      consumer.on(consumer.events.GROUP_JOIN, () => resolve());
      consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
    });
    // The attempt may already have timed out when a crash arrives; that late rejection is expected.
    joined.catch(() => {});
    consumerStarted = true;
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async () => {} });
    await withTimeout(joined, limitMs, 'joining the consumer group');
  } finally {
    // Clean-up is best effort, because a broker that is still starting may reject it. The next attempt
    // uses new names anyway.
    if (consumerStarted) await consumer.disconnect().catch(() => {});
    if (consumerStarted) await admin.deleteGroups([groupId]).catch(() => {});
    if (topicRequested) await admin.deleteTopics({ topics: [topic], timeout: 5000 }).catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

async function main() {
  const { brokers, timeoutS, pid } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const deadline = started + timeoutS * 1000;
  let lastError;

  // One timer both watches the broker process and prints the progress line, so neither depends on
  // how long a single attempt blocks.
  let lastProgress = started;
  const watcher = setInterval(() => {
    if (pid !== undefined && !isAlive(pid)) {
      fail(
        3,
        `error: the broker process ${pid} exited while waiting for ${brokers.join(',')} to become ready`,
      );
    }
    const now = Date.now();
    if (now - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = now;
      const waited = Math.round((now - started) / 1000);
      say(`waiting for ${brokers.join(',')} to accept a consumer group (${waited} s of ${timeoutS} s)`);
    }
  }, 250);

  while (Date.now() < deadline) {
    try {
      await attempt(brokers, Math.min(ATTEMPT_LIMIT_MS, Math.max(1000, deadline - Date.now())));
      clearInterval(watcher);
      return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, PAUSE_BETWEEN_ATTEMPTS_MS));
  }
  clearInterval(watcher);
  const reason = lastError instanceof Error ? `${lastError.name}: ${lastError.message}` : String(lastError);
  fail(
    1,
    `error: timed out after ${timeoutS} s waiting for ${brokers.join(',')} to accept a consumer group; last failure: ${reason}`,
  );
}

main().then(
  () => process.exit(0),
  (error) =>
    fail(1, `error: the readiness check itself failed: ${error && error.stack ? error.stack : error}`),
);
