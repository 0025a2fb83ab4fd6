import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Message, Partitioners } from 'kafkajs';

import { customerCounters, dedupeKeyCount } from '../support/crash-probes';
import { REPO_ROOT } from '../support/environment';
import { storageEvent, userAllocated } from '../support/events';
import { createCustomer } from '../support/http';
import { PartitionProducer } from '../support/input-helpers';
import { ReadMessage } from '../support/kafka';
import { ServiceFixture } from '../support/service-fixture';
import { ServiceProcess } from '../support/service-process';

const MAX_EVENT_BYTES = 2048;
const TOO_LARGE_BYTES = 6000;
const PARTITION_COUNT = 3;
const NARROW_SOURCES = '/test-producer';
const WIDE_SOURCES = '/test-producer,/billing-agent';
const SCRIPT_TIMEOUT_MS = 90_000;

interface ReplayRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Case {
  eventId: string;
  message: Message;
  /** Original coordinates as the script prints them, `topic/partition@offset`. */
  origin: string;
}

function tagged(name: string, message: Message): Message {
  return { ...message, headers: { ...message.headers, traceparent: `trace-${name}` } };
}

/** Parses the `Summary:` line, e.g. `resend=2 sent=0`, into its name=value pairs. */
function summaryOf(run: ReplayRun): Record<string, string> {
  const line = run.stdout.split('\n').find((text) => text.startsWith('Summary: '));
  if (line === undefined) {
    throw new Error(`no Summary line (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
  return Object.fromEntries(
    line
      .slice('Summary: '.length)
      .split(' ')
      .map((pair) => pair.split('=') as [string, string]),
  );
}

/** Returns the lines printed under `heading` up to the next line that is not indented. */
function section(run: ReplayRun, heading: string): string[] {
  const lines = run.stdout.split('\n');
  const start = lines.findIndex((line) => line.startsWith(heading));
  if (start < 0) {
    return [];
  }
  const body: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('  ')) {
      break;
    }
    body.push(line.trim());
  }
  return body;
}

/** Returns the partition that kafkajs's default partitioner (murmur2, as in Java clients) picks for `key`. */
function keyPartition(key: string): number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: PARTITION_COUNT }, (_, partitionId) => ({
    partitionId,
    leader: 1,
    replicas: [1],
    isr: [1],
    partitionErrorCode: 0,
  }));
  return partitioner({ topic: 'any', partitionMetadata, message: { key, value: null } });
}

/** Returns a partition that no key in `keys` hashes to, so a resend by key would land elsewhere. */
function partitionAvoiding(keys: string[]): number {
  const taken = new Set(keys.map(keyPartition));
  const free = Array.from({ length: PARTITION_COUNT }, (_, partition) => partition).find(
    (partition) => !taken.has(partition),
  );
  if (free === undefined) {
    throw new Error(`keys ${keys.join(', ')} cover all ${PARTITION_COUNT} partitions`);
  }
  return free;
}

function originOf(letter: ReadMessage): string {
  const { headers } = letter;
  return `${headers['x-original-topic']}/${headers['x-original-partition']}@${headers['x-original-offset']}`;
}

describe('dead-letter replay', () => {
  const fixture = new ServiceFixture('replay');
  const producer = new PartitionProducer(fixture.kafka.kafka);
  const replayClientId = `replay-${randomBytes(4).toString('hex')}`;
  let service: ServiceProcess;
  let customerA: string;
  let customerB: string;
  const cases = new Map<string, Case>();
  let copyTimestampMs: number;
  let storagePartition: number;
  let usersPartition: number;

  /** Runs `node dist/scripts/dlq-replay.js` with the service's Kafka variables and `env` on top. */
  function runReplay(env: Record<string, string> = {}, args: string[] = []): Promise<ReplayRun> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          '--disable-warning=TimeoutNegativeWarning',
          join(REPO_ROOT, 'dist', 'scripts', 'dlq-replay.js'),
          ...args,
        ],
        {
          env: {
            PATH: process.env.PATH ?? '',
            ...fixture.kafka.serviceEnv(),
            KAFKA_CLIENT_ID: replayClientId,
            ...env,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`dlq-replay did not exit within ${SCRIPT_TIMEOUT_MS} ms:\n${stdout}\n${stderr}`));
      }, SCRIPT_TIMEOUT_MS);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Sum of the end offsets of a topic's partitions: how many records it ever received. */
  async function recordCount(topic: string): Promise<bigint> {
    const admin = fixture.kafka.kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.reduce((sum, entry) => sum + BigInt(entry.high), 0n);
    } finally {
      await admin.disconnect();
    }
  }

  async function inboundRecordCounts(): Promise<bigint[]> {
    return [await recordCount(fixture.kafka.topics.storage), await recordCount(fixture.kafka.topics.users)];
  }

  // Dead-letters five events: one from a source outside the narrow allow list, two for a customer
  // id that does not exist yet, one that is not JSON and one above MAX_EVENT_BYTES. Then one dead
  // letter is written a second time, as after a crash, and the causes are fixed: the service
  // restarts with the wider allow list and the missing customer is created.
  beforeAll(async () => {
    await fixture.setUp();
    const limits = { MAX_EVENT_BYTES: String(MAX_EVENT_BYTES) };
    const narrow = await fixture.start({ ...limits, KAFKA_USAGE_SOURCES: NARROW_SOURCES });
    customerA = await createCustomer(narrow.baseUrl, { quotaMax: '-1', userMax: '10' });
    const missingId = (BigInt(customerA) + 1n).toString();
    storagePartition = partitionAvoiding([customerA, missingId]);
    usersPartition = partitionAvoiding([missingId]);

    const [blockedId, earlyId, notJsonId, tooLargeId] = [
      randomUUID(),
      randomUUID(),
      randomUUID(),
      randomUUID(),
    ];
    const unpadded = String(storageEvent(customerA, '5', { id: tooLargeId }).value);
    const padding = 'x'.repeat(TOO_LARGE_BYTES - Buffer.byteLength(unpadded) - '"padding":"",'.length);
    const storageCases: [string, string, Message][] = [
      ['blocked', blockedId, storageEvent(customerA, '700', { id: blockedId, source: '/billing-agent' })],
      ['early', earlyId, storageEvent(missingId, '300', { id: earlyId })],
      ['not-json', notJsonId, { key: customerA, value: 'this is not JSON {' }],
      [
        'too-large',
        tooLargeId,
        { key: customerA, value: unpadded.replace('"data":', `"padding":"${padding}","data":`) },
      ],
    ];
    const storageMessages = storageCases.map(([name, , message]) => tagged(name, message));
    const storageOffsets = await producer.send(
      fixture.kafka.topics.storage,
      storagePartition,
      storageMessages,
    );
    storageCases.forEach(([name, eventId], index) => {
      cases.set(name, {
        eventId,
        message: storageMessages[index],
        origin: `${fixture.kafka.topics.storage}/${storagePartition}@${storageOffsets[index]}`,
      });
    });
    const userEventId = randomUUID();
    const userMessage = tagged('early-user', userAllocated(missingId, 'alice', { id: userEventId }));
    const [userOffset] = await producer.send(fixture.kafka.topics.users, usersPartition, [userMessage]);
    cases.set('early-user', {
      eventId: userEventId,
      message: userMessage,
      origin: `${fixture.kafka.topics.users}/${usersPartition}@${userOffset}`,
    });

    const letters = await fixture.kafka.readUntil(
      fixture.kafka.topics.deadLetters,
      (read) => read.length >= 5,
    );
    const early = letters.find((letter) => originOf(letter) === cases.get('early')!.origin);
    if (early === undefined) {
      throw new Error(
        `no dead letter for ${cases.get('early')!.origin} among ${letters.map(originOf).join(', ')}`,
      );
    }
    // The same dead letter a second time, as the service writes it after a crash before its commit.
    copyTimestampMs = Date.now();
    await fixture.kafka.send(fixture.kafka.topics.deadLetters, [
      { key: early.key, value: early.value, headers: early.headers, timestamp: String(copyTimestampMs) },
    ]);

    await narrow.stop();
    service = await fixture.start({ ...limits, KAFKA_USAGE_SOURCES: WIDE_SOURCES });
    customerB = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' });
    if (customerB !== missingId) {
      throw new Error(`the second customer got id ${customerB}, not the predicted ${missingId}`);
    }
  });

  afterAll(async () => {
    await producer.disconnect();
    await fixture.tearDown();
  });

  describe('dry run', () => {
    let run: ReplayRun;
    let countsBefore: bigint[];

    beforeAll(async () => {
      countsBefore = await inboundRecordCounts();
      run = await runReplay();
    });

    it('exits 0', () => {
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
    });

    it('counts per reason', () => {
      expect(section(run, 'Per reason')).toEqual([
        expect.stringMatching(/^CUSTOMER_NOT_FOUND +2$/),
        expect.stringMatching(/^INVALID_JSON +1$/),
        expect.stringMatching(/^SOURCE_NOT_ALLOWED +1$/),
        expect.stringMatching(/^TOO_LARGE +1$/),
      ]);
    });

    it('counts per original topic', () => {
      const lines = section(run, 'Per original topic');

      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${fixture.kafka.topics.storage} +4$`)));
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${fixture.kafka.topics.users} +1$`)));
      expect(lines).toHaveLength(2);
    });

    it('lists what it would resend', () => {
      const origins = section(run, 'Would resend').map((line) => line.split(' ')[0]);

      expect(origins.sort()).toEqual(
        ['blocked', 'early', 'not-json', 'early-user'].map((name) => cases.get(name)!.origin).sort(),
      );
    });

    it('skips the repeated dead letter', () => {
      expect(summaryOf(run)).toMatchObject({
        matched: '6',
        repeats: '1',
        resend: '4',
        skipped: '1',
        sent: '0',
      });
    });

    it('skips TOO_LARGE with the reason', () => {
      const [skipped] = section(run, 'Skipped');

      expect(skipped).toContain(`${cases.get('too-large')!.origin} reason=TOO_LARGE`);
      expect(skipped).toContain(`keeps only the first 4096 of ${TOO_LARGE_BYTES} bytes`);
    });

    it('sends nothing', async () => {
      expect(await inboundRecordCounts()).toEqual(countsBefore);
      expect(await customerCounters(fixture.database, customerA)).toMatchObject({ quotaUsed: '0' });
      expect(await customerCounters(fixture.database, customerB)).toMatchObject({
        quotaUsed: '0',
        userUsed: '0',
      });
    });

    it('leaves no consumer group behind', async () => {
      const admin = fixture.kafka.kafka.admin();
      await admin.connect();
      const { groups } = await admin.listGroups();
      await admin.disconnect();

      expect(groups.map((group) => group.groupId).filter((id) => id.startsWith(replayClientId))).toEqual([]);
    });
  });

  describe('filters', () => {
    it('REASON selects that reason', async () => {
      const run = await runReplay({ REASON: 'SOURCE_NOT_ALLOWED' });

      expect(run.code).toBe(0);
      expect(section(run, 'Would resend').map((line) => line.split(' ')[0])).toEqual([
        cases.get('blocked')!.origin,
      ]);
      expect(summaryOf(run)).toMatchObject({ matched: '1', skipped: '0' });
    });

    it('REASON list selects each reason', async () => {
      const run = await runReplay({ REASON: 'INVALID_JSON, TOO_LARGE' });

      expect(section(run, 'Would resend').map((line) => line.split(' ')[0])).toEqual([
        cases.get('not-json')!.origin,
      ]);
      expect(summaryOf(run)).toMatchObject({ matched: '2', resend: '1', skipped: '1' });
    });

    it('TOPIC selects the original topic', async () => {
      const run = await runReplay({ TOPIC: fixture.kafka.topics.users });

      expect(section(run, 'Would resend').map((line) => line.split(' ')[0])).toEqual([
        cases.get('early-user')!.origin,
      ]);
      expect(summaryOf(run)).toMatchObject({ matched: '1' });
    });

    it('SINCE compares the Kafka timestamp', async () => {
      // Only the copy written in the set-up has a timestamp this late, so it counts as distinct.
      const run = await runReplay({ SINCE: new Date(copyTimestampMs).toISOString() });

      expect(section(run, 'Would resend').map((line) => line.split(' ')[0])).toEqual([
        cases.get('early')!.origin,
      ]);
      expect(summaryOf(run)).toMatchObject({ matched: '1', repeats: '0' });
    });

    it('SINCE duration selects recent ones', async () => {
      const run = await runReplay({ SINCE: '1h' });

      expect(summaryOf(run)).toMatchObject({ matched: '6', resend: '4' });
    });

    it('SINCE in the future selects none', async () => {
      const run = await runReplay({ SINCE: new Date(Date.now() + 3_600_000).toISOString() });

      expect(summaryOf(run)).toMatchObject({ matched: '0', resend: '0' });
    });

    it('filters combine', async () => {
      const run = await runReplay({ REASON: 'CUSTOMER_NOT_FOUND', TOPIC: fixture.kafka.topics.storage });

      expect(section(run, 'Would resend').map((line) => line.split(' ')[0])).toEqual([
        cases.get('early')!.origin,
      ]);
    });

    it.each([
      [
        'REASON',
        { REASON: 'CUSTOMER_GONE' },
        '"CUSTOMER_GONE" is not a dead-letter reason code',
        'CUSTOMER_NOT_FOUND',
      ],
      ['SINCE', { SINCE: 'yesterday' }, '"yesterday" is neither an RFC 3339 time nor a duration', 'SINCE=2h'],
      ['SINCE date', { SINCE: '2026-02-30T00:00:00Z' }, '"2026-02-30T00:00:00Z" is neither', 'SINCE=2h'],
      ['TOPIC', { TOPIC: 'customer.lock' }, '"customer.lock" is not an inbound topic', 'KAFKA_TOPIC_STORAGE'],
      ['APPLY', { APPLY: 'yes' }, 'APPLY: "yes" is invalid', 'set APPLY=1'],
      [
        'KAFKA_BROKERS',
        { KAFKA_BROKERS: 'nowhere' },
        'KAFKA_BROKERS: "nowhere" is not host:port',
        '127.0.0.1:9092',
      ],
    ])('rejects invalid %s with exit 2', async (_name, env, problem, fix) => {
      const run = await runReplay(env);

      expect(run.code).toBe(2);
      expect(run.stderr).toContain(problem);
      expect(run.stderr).toContain(fix);
      expect(run.stdout).toBe('');
    });

    it('rejects unknown argument', async () => {
      const run = await runReplay({}, ['--dry-run']);

      expect(run.code).toBe(2);
      expect(run.stderr).toContain('unknown argument "--dry-run"');
    });

    it('prints help', async () => {
      const run = await runReplay({ KAFKA_BROKERS: 'not used' }, ['--help']);

      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Usage: make dlq-replay');
      expect(run.stdout).toContain('REASON');
    });
  });

  describe('apply', () => {
    const replayed = ['blocked', 'early', 'early-user'];
    let first: ReplayRun;
    let countsBefore: bigint[];
    let resent: ReadMessage[];

    beforeAll(async () => {
      countsBefore = await inboundRecordCounts();
      first = await runReplay({ APPLY: '1', REASON: 'SOURCE_NOT_ALLOWED,CUSTOMER_NOT_FOUND' });
      for (const name of replayed) {
        await service.waitForLog(
          (line) => line.msg === 'applied event' && line.eventId === cases.get(name)!.eventId,
        );
      }
      const read = await fixture.kafka.readAll(fixture.kafka.topics.storage);
      const users = await fixture.kafka.readAll(fixture.kafka.topics.users);
      const originals = new Set([...cases.values()].map((item) => item.origin));
      resent = [...read, ...users].filter(
        (message) => !originals.has(`${message.topic}/${message.partition}@${message.offset}`),
      );
    });

    it('sends each event once', async () => {
      expect(first.code).toBe(0);
      expect(summaryOf(first)).toMatchObject({ resend: '3', sent: '3', repeats: '1', mode: 'apply' });
      expect(section(first, 'Resending')).toHaveLength(3);
      // Two storage events (one of them dead-lettered twice) and one user event.
      const countsAfter = await inboundRecordCounts();
      expect(countsAfter[0] - countsBefore[0]).toBe(2n);
      expect(countsAfter[1] - countsBefore[1]).toBe(1n);
    });

    it('applies the events once', async () => {
      const a = await customerCounters(fixture.database, customerA);
      const b = await customerCounters(fixture.database, customerB);

      expect(a.quotaUsed).toBe('700');
      expect(b.quotaUsed).toBe('300');
      expect(b.userUsed).toBe('1');
      expect(await dedupeKeyCount(fixture.database, customerA)).toBe(1);
      expect(await dedupeKeyCount(fixture.database, customerB)).toBe(2);
      for (const name of replayed) {
        const eventId = cases.get(name)!.eventId;
        expect(service.countLogs((line) => line.msg === 'applied event' && line.eventId === eventId)).toBe(1);
      }
    });

    it('resends to the original partition', () => {
      const places = resent.map((message) => `${message.topic}/${message.partition}`).sort();

      expect(places).toEqual(
        [
          `${fixture.kafka.topics.storage}/${storagePartition}`,
          `${fixture.kafka.topics.storage}/${storagePartition}`,
          `${fixture.kafka.topics.users}/${usersPartition}`,
        ].sort(),
      );
    });

    it.each(['blocked', 'early', 'early-user'])('resends %s unchanged', (name) => {
      const original = cases.get(name)!.message;
      const copy = resent.find((message) => message.headers.traceparent === `trace-${name}`);

      expect(copy?.key).toBe(String(original.key));
      expect(copy?.value?.toString('utf8')).toBe(String(original.value));
      expect(copy?.headers).toEqual({ traceparent: `trace-${name}` });
    });

    it('second replay changes nothing', async () => {
      const second = await runReplay({ REASON: 'SOURCE_NOT_ALLOWED,CUSTOMER_NOT_FOUND' }, ['--apply']);
      for (const name of replayed) {
        await service.waitForLog(
          (line) => line.msg === 'skipped duplicate event' && line.eventId === cases.get(name)!.eventId,
        );
      }

      expect(summaryOf(second)).toMatchObject({ sent: '3' });
      expect(await customerCounters(fixture.database, customerA)).toMatchObject({ quotaUsed: '700' });
      expect(await customerCounters(fixture.database, customerB)).toMatchObject({
        quotaUsed: '300',
        userUsed: '1',
      });
      expect(await dedupeKeyCount(fixture.database, customerB)).toBe(2);
    });

    it('writes no new dead letters', async () => {
      const letters = await fixture.kafka.readAll(fixture.kafka.topics.deadLetters);

      // Five from the set-up and the one copy; the resent events were applied or skipped.
      expect(letters).toHaveLength(6);
    });
  });
});
