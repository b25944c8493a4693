/**
 * `npm run bench:inbox`: how long a reviewer's pending list (`GET /v1/intents?reviewer=me`)
 * takes on the local stack while 100, then 10,000 intents wait for other reviewers. The target
 * (issue #19): the same time within 50%, since the list reads only the reviewer's own inbox
 * partition. Prints a table and, last, one JSON line; docs/performance.md records the numbers.
 *
 * BENCH_MINE (default 50) sets how many intents wait for the measured reviewer (one page);
 * BENCH_FEW and BENCH_MANY (default 100 and 10,000) how many wait for others.
 */
import { CountersignClient } from '../sdk/src/index';
import {
  newDataDir,
  outboxItems,
  removeDataDir,
  reviewerClients,
  type StackProcess,
  startStack,
  until,
} from '../test/e2e/harness';

const MINE = Number(process.env.BENCH_MINE ?? 50);
const FEW = Number(process.env.BENCH_FEW ?? 100);
const MANY = Number(process.env.BENCH_MANY ?? 10_000);
const AGENTS = 20;
const SAMPLES = 200;
/** Calls not timed: the JVM behind DynamoDB Local compiles the query path over the first ones. */
const WARM_UP = 500;
const ME = 'me@company.com';

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

/** Creates intents `from` … `to - 1`, each asking `reviewerOf(n)`, with 20 agents at once. */
async function createFor(
  agent: CountersignClient,
  from: number,
  to: number,
  reviewerOf: (n: number) => string,
): Promise<void> {
  let next = from;
  await Promise.all(
    Array.from({ length: AGENTS }, async () => {
      while (next < to) {
        const n = next;
        next += 1;
        await agent.sendIntent({
          intent_type: 'intent.bench.inbox.v1',
          to_agent: 'agent://bench/inbox',
          summary: `Inbox bench ${n}`,
          payload: { n },
          reviewers: [reviewerOf(n)],
          policy: { timeout: { after: '2d' } },
        });
      }
    }),
  );
}

/** Waits until every intent's first notice went out: the stack is idle again. */
async function settled(stack: StackProcess, intents: number): Promise<void> {
  await until(
    async () => ((await outboxItems(stack)).length >= intents ? true : undefined),
    1_800_000,
    `the first notices of ${intents} intents`,
  );
}

/** `SAMPLES` sequential list calls after `WARM_UP` more; answers the sorted durations. */
async function timeInbox(reviewer: CountersignClient): Promise<number[]> {
  const durations: number[] = [];
  for (let i = 0; i < SAMPLES + WARM_UP; i += 1) {
    const started = performance.now();
    const page = await reviewer.listIntents({ reviewer: 'me', limit: MINE });
    const elapsed = performance.now() - started;
    if (page.items.length !== MINE) throw new Error(`listed ${page.items.length}, not ${MINE}`);
    if (i >= WARM_UP) durations.push(elapsed);
  }
  return durations.sort((a, b) => a - b);
}

async function main() {
  const dataDir = newDataDir();
  let stack: StackProcess | undefined;
  try {
    stack = await startStack(dataDir);
    const running = stack;
    const agent = new CountersignClient({
      baseUrl: stack.url,
      apiKey: stack.settings.api_keys.agent,
    });
    const me = await reviewerClients(() => running)(ME);

    process.stderr.write(`${MINE} intents for ${ME}, ${FEW} for others...\n`);
    await createFor(agent, 0, MINE, () => ME);
    await createFor(agent, MINE, MINE + FEW, (n) => `other${n}@company.com`);
    await settled(stack, MINE + FEW);
    const few = await timeInbox(me);
    process.stderr.write(`  p50 ${percentile(few, 50).toFixed(1)} ms\n`);

    process.stderr.write(`${MANY} intents for others...\n`);
    const started = performance.now();
    await createFor(agent, MINE + FEW, MINE + MANY, (n) => `other${n}@company.com`);
    const createSeconds = (performance.now() - started) / 1000;
    await settled(stack, MINE + MANY);
    const many = await timeInbox(me);
    process.stderr.write(`  p50 ${percentile(many, 50).toFixed(1)} ms\n`);

    const ratio = percentile(many, 50) / percentile(few, 50);
    const row = (label: string, sorted: number[]) =>
      `| ${label} | ${percentile(sorted, 50).toFixed(1)} ms | ${percentile(sorted, 90).toFixed(1)} ms |`;
    console.log(
      [
        `| ${MINE} pending for me, listed with reviewer=me (${SAMPLES} calls) | p50 | p90 |`,
        '|---|---|---|',
        row(`${FEW} pending for others`, few),
        row(`${MANY} pending for others`, many),
        '',
        `ratio of the p50s: ${ratio.toFixed(2)} (target: within 1.5)`,
      ].join('\n'),
    );
    console.log(
      JSON.stringify({
        mine: MINE,
        others_few: FEW,
        others_many: MANY,
        p50_ms_few: Number(percentile(few, 50).toFixed(1)),
        p90_ms_few: Number(percentile(few, 90).toFixed(1)),
        p50_ms_many: Number(percentile(many, 50).toFixed(1)),
        p90_ms_many: Number(percentile(many, 90).toFixed(1)),
        ratio: Number(ratio.toFixed(2)),
        creates_per_second_filling: Math.round((MANY - FEW) / createSeconds),
      }),
    );
  } finally {
    await stack?.kill();
    removeDataDir(dataDir);
  }
}

await main();
