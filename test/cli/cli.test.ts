import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuditEvent,
  CountersignClient,
  hashAuditEvent,
  type Intent,
  SDK_VERSION,
  verifyTrail,
} from '../../sdk/src/index.js';
import {
  freePort,
  newDataDir,
  removeDataDir,
  type StackProcess,
  startStack,
  until,
} from '../e2e/harness';
import {
  buildCli,
  cli,
  collect,
  KEEP_STDIN_OPEN,
  parseCsv,
  ROOT,
  removeBuild,
  spawnCli,
} from './run-cli';

/**
 * The `countersign` CLI, run as a separate process against the real local stack, as a reviewer
 * or an operator would run it in a terminal or a script.
 */
let stack: StackProcess;
let dataDir: string;
let home: string;
let admin: CountersignClient;
let agent: CountersignClient;
let reviewerKey: string;
let binary: string;

const REVIEWER = 'cli-reviewer@company.com';
const OTHER_REVIEWER = 'someone-else@company.com';

const configFile = () => path.join(home, 'config.json');
/** The CLI's environment: its own HOME and config file, nothing from the test runner. */
const env = (extra: Record<string, string> = {}) => ({
  HOME: home,
  COUNTERSIGN_CONFIG: configFile(),
  ...extra,
});
const asAdmin = () =>
  env({ COUNTERSIGN_URL: stack.url, COUNTERSIGN_API_KEY: stack.settings.api_keys.admin });
const asReviewer = () => env({ COUNTERSIGN_URL: stack.url, COUNTERSIGN_API_KEY: reviewerKey });

async function createIntent(summary: string, reviewer = REVIEWER): Promise<Intent> {
  return agent.createIntent({
    intent_type: 'intent.report.review_approval.v1',
    to_agent: 'agent://myorg/production/report-generator',
    summary,
    payload: { report: summary, pii_detected: false, reviewer },
  });
}

beforeAll(async () => {
  dataDir = newDataDir();
  home = mkdtempSync(path.join(tmpdir(), 'countersign-cli-'));
  [stack, binary] = await Promise.all([startStack(dataDir), buildCli()]);
  admin = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.admin });
  agent = new CountersignClient({ baseUrl: stack.url, apiKey: stack.settings.api_keys.agent });
  reviewerKey = (await admin.createKey({ role: 'reviewer', principal: REVIEWER })).key;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (dataDir) removeDataDir(dataDir);
  if (home) rmSync(home, { recursive: true, force: true });
  removeBuild();
});

describe('help and usage', () => {
  it('prints help for the CLI and for each command, and refuses unknown commands and options with exit 1', async () => {
    const [main, reject, keysCreate, keysGroup, unknown, missingId, unknownOption] =
      await Promise.all([
        cli(['--help'], { env: env() }),
        cli(['reject', '--help'], { env: env() }),
        cli(['keys', 'create', '--help'], { env: env() }),
        cli(['keys', '--help'], { env: env() }),
        cli(['frobnicate'], { env: env() }),
        cli(['approve'], { env: env() }),
        cli(['pending', '--bogus'], { env: env() }),
      ]);
    expect(main).toMatchObject({ code: 0 });
    expect(main.stdout).toContain('Usage: countersign <command> [options]');
    expect(main.stdout).toMatch(/Exit codes:[\s\S]*4 +audit verify: the trail is broken/);
    expect(reject).toMatchObject({ code: 0 });
    expect(reject.stdout).toContain('Usage: countersign reject <id> -m <reason>');
    expect(keysCreate.stdout).toContain('--role <role>');
    expect(keysGroup.stdout).toMatch(/keys revoke +revoke an API key/);
    expect(unknown).toMatchObject({ code: 1 });
    expect(unknown.stderr).toContain('unknown command: frobnicate');
    expect(missingId).toMatchObject({ code: 1 });
    expect(missingId.stderr).toContain('approve needs an intent id, or --all.');
    expect(unknownOption).toMatchObject({ code: 1 });
    expect(unknownOption.stderr).toContain('--bogus');
  });
});

describe('login', () => {
  it('without credentials, a command says how to log in and exits 3', async () => {
    const result = await cli(['pending'], { env: env() });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('Not logged in');
    expect(result.stderr).toContain('countersign login --url');
  });

  it('refuses a key the API does not know, with exit 3, and stores nothing', async () => {
    const wrongKey = 'csk_this-key-does-not-exist';
    const result = await cli(['login', '--url', stack.url, '--key', wrongKey], { env: env() });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('refused the key');
    expect(result.stderr).toContain('Nothing was saved');
    expect(result.stdout + result.stderr).not.toContain(wrongKey);
    expect(() => statSync(configFile())).toThrow();
  });

  it('stores the URL and key in a file only its owner can read, and never prints the key', async () => {
    const result = await cli(['login', '--url', stack.url, '--key', '-'], {
      env: env(),
      input: `${reviewerKey}\n`,
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Logged in to ${stack.url}`);
    expect(result.stdout + result.stderr).not.toContain(reviewerKey);
    expect(statSync(configFile()).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(configFile(), 'utf8'))).toEqual({
      url: stack.url,
      api_key: reviewerKey,
    });
  });
});

describe('a reviewer in the terminal', () => {
  it('pending lists what waits for this reviewer, as a table and as JSON', async () => {
    const first = await createIntent('Email the Q1 financial summary to the board');
    const second = await createIntent('Publish the pricing page');
    const notMine = await createIntent('Something for someone else', OTHER_REVIEWER);

    const table = await cli(['pending'], { env: env() });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID +CREATED +DEADLINE +FROM +SUMMARY/);
    expect(table.stdout).toContain(first.id);
    expect(table.stdout).toContain('Publish the pricing page');
    expect(table.stdout).not.toContain(notMine.id);

    const json = await cli(['pending', '--json'], { env: env() });
    expect(json.code).toBe(0);
    const items = JSON.parse(json.stdout) as Intent[];
    const ids = items.map((intent) => intent.id);
    expect(ids).toEqual(expect.arrayContaining([first.id, second.id]));
    expect(ids).not.toContain(notMine.id);
    expect(items.every((intent) => intent.status === 'pending')).toBe(true);
  });

  it('show prints the summary, payload and audit trail; --json gives the intent and its events', async () => {
    const intent = await createIntent('Send the renewal offer to ACME');
    const human = await cli(['show', intent.id], { env: env() });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`${intent.id}  PENDING`);
    expect(human.stdout).toContain('Send the renewal offer to ACME');
    expect(human.stdout).toContain('"pii_detected": false');
    expect(human.stdout).toMatch(/Audit trail \(\d+ events?\)/);
    expect(human.stdout).toMatch(/1 +\S+ +created +agent:\/\/local\/default/);

    const json = await cli(['show', intent.id, '--json'], { env: env() });
    const parsed = JSON.parse(json.stdout) as { intent: Intent; events: AuditEvent[] };
    expect(parsed.intent).toMatchObject({ id: intent.id, status: 'pending' });
    expect(parsed.events[0]).toMatchObject({ seq: 1, type: 'created' });
  });

  it('approve --set edits editable values (JSON when it parses, else a string) and approves them', async () => {
    const intent = await agent.createIntent({
      intent_type: 'intent.payment.v1',
      to_agent: 'agent://myorg/payments',
      summary: 'Pay ACME',
      payload: { amount: 50000, memo: 'March', express: false, reviewer: REVIEWER },
      editable: ['/amount', '/memo', '/express'],
    });
    const shown = await cli(['show', intent.id], { env: env() });
    expect(shown.stdout).toContain('editable     /amount, /memo, /express');

    const help = await cli(['approve', '--help'], { env: env() });
    expect(help.stdout).toContain('--set <pointer>=<value>');
    expect(help.stdout).toContain('parsed as JSON when it parses, else a string');

    const wrongType = await cli(['approve', intent.id, '--set', '/amount=lots'], { env: env() });
    expect(wrongType.code).not.toBe(0);
    expect(wrongType.stderr).toContain('edits./amount');
    const notEditable = await cli(['approve', intent.id, '--set', '/reviewer=x@y.z'], {
      env: env(),
    });
    expect(notEditable.stderr).toContain('/reviewer is not editable');
    const malformed = await cli(['approve', intent.id, '--set', 'amount=1'], { env: env() });
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain('--set takes <pointer>=<value>');
    expect((await agent.getIntent(intent.id)).status).toBe('pending');

    const approved = await cli(
      [
        'approve',
        intent.id,
        '--set',
        '/amount=40000',
        '--set',
        '/memo=March, part 1',
        '--set',
        '/express=true',
      ],
      { env: env() },
    );
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(`Approved ${intent.id}`);
    const decided = await agent.getIntent(intent.id);
    expect(decided.approved_payload).toEqual({
      amount: 40000,
      memo: 'March, part 1',
      express: true,
      reviewer: REVIEWER,
    });
    expect(decided.decision?.edits).toEqual({
      '/amount': 40000,
      '/memo': 'March, part 1',
      '/express': true,
    });
  });

  it('shows what an agent wrote without letting it drive the terminal', async () => {
    const intent = await createIntent('Pay \u001b[32mvendor\u001b[0m \u202eevil\u202c');
    const human = await cli(['show', intent.id], { env: env() });
    expect(human.stdout.includes('\u001b') || human.stdout.includes('\u202e')).toBe(false);
    expect(human.stdout).toContain('Pay \\u001b[32mvendor\\u001b[0m \\u202eevil\\u202c');
  });

  it('approve -m records the approval with its comment on channel cli; a second decision is exit 2', async () => {
    const intent = await createIntent('Rotate the database credentials');
    const approved = await cli(['approve', intent.id, '-m', 'Numbers check out'], { env: env() });
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(`Approved ${intent.id}`);
    expect(await agent.getIntent(intent.id)).toMatchObject({
      status: 'approved',
      decision: { outcome: 'approved', by: REVIEWER, channel: 'cli', comment: 'Numbers check out' },
    });

    const again = await cli(['approve', intent.id], { env: env() });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('[already_decided, HTTP 409]');
    expect(again.stderr).toContain(`${intent.id} is approved: approved by ${REVIEWER} via cli`);

    const json = await cli(['approve', intent.id, '--json'], { env: env() });
    expect(json.code).toBe(2);
    expect(json.stdout).toBe('');
    expect(JSON.parse(json.stderr)).toMatchObject({
      error: { code: 'already_decided', status: 409, exit_code: 2, intent: { status: 'approved' } },
    });
  });

  it('reject without -m is refused before anything is sent; with -m it rejects with the reason', async () => {
    const intent = await createIntent('Delete the staging environment');
    for (const args of [
      ['reject', intent.id],
      ['reject', intent.id, '-m', '   '],
    ]) {
      const refused = await cli(args, { env: env() });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('reject needs a reason');
      expect(refused.stderr).toContain(`countersign reject ${intent.id} -m "<reason>"`);
    }
    expect((await agent.getIntent(intent.id)).status).toBe('pending');

    const rejected = await cli(
      ['reject', intent.id, '-m', 'Staging is in use this week', '--json'],
      {
        env: env(),
      },
    );
    expect(rejected.code).toBe(0);
    expect(JSON.parse(rejected.stdout)).toMatchObject({
      id: intent.id,
      status: 'rejected',
      decision: { by: REVIEWER, channel: 'cli', comment: 'Staging is in use this week' },
    });
  });

  it('a decision the API forbids, or a key it does not know, exits 3 without echoing the key', async () => {
    const notMine = await createIntent('Not for this reviewer', OTHER_REVIEWER);
    const forbidden = await cli(['approve', notMine.id], { env: env() });
    expect(forbidden.code).toBe(3);
    expect(forbidden.stderr).toContain('HTTP 403');
    expect((await agent.getIntent(notMine.id)).status).toBe('pending');

    const badKey = 'csk_overridden-by-the-environment';
    const unknown = await cli(['pending'], { env: env({ COUNTERSIGN_API_KEY: badKey }) });
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('HTTP 401');
    expect(unknown.stdout + unknown.stderr).not.toContain(badKey);
  });

  it('an unknown intent id is exit 2 (refused), as a conflict is', async () => {
    const unknownId = 'int_01JD0000000000000000000000';
    const [human, json] = await Promise.all([
      cli(['approve', unknownId], { env: env() }),
      cli(['show', unknownId, '--json'], { env: env() }),
    ]);
    expect(human.code).toBe(2);
    expect(human.stderr).toContain('[not_found, HTTP 404]');
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stderr)).toMatchObject({
      error: { code: 'not_found', status: 404, exit_code: 2 },
    });
  });

  it('an API that cannot be reached is exit 6 (unavailable) with the reason', async () => {
    // Nothing listens on a port just freed.
    const closed = `http://127.0.0.1:${await freePort()}`;
    const result = await cli(['pending'], {
      env: env({ COUNTERSIGN_URL: closed, COUNTERSIGN_API_KEY: reviewerKey }),
    });
    expect(result.code).toBe(6);
    expect(result.stderr).toContain(`could not reach ${closed}`);
    expect(result.stderr).not.toContain(reviewerKey);

    const json = await cli(['pending', '--json'], {
      env: env({ COUNTERSIGN_URL: closed, COUNTERSIGN_API_KEY: reviewerKey }),
    });
    expect(json.code).toBe(6);
    expect(JSON.parse(json.stderr)).toMatchObject({
      error: { code: 'network_error', status: null, exit_code: 6 },
    });
  });

  it('an API that keeps failing with 5xx is exit 6, after the retries, not 2', async () => {
    let requests = 0;
    const failing = createServer((_req, res) => {
      requests += 1;
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'internal', message: 'The service failed.' } }));
    });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(failing.address() as AddressInfo).port}`;
      const result = await cli(['pending'], {
        env: env({ COUNTERSIGN_URL: url, COUNTERSIGN_API_KEY: reviewerKey }),
      });
      expect(result.code).toBe(6);
      expect(result.stderr).toContain('HTTP 500');
      expect(result.stderr).toContain('try again later');
      expect(requests).toBeGreaterThan(1);
    } finally {
      await new Promise((resolve) => failing.close(resolve));
    }
  });

  it('watch prints, as text, what already waits and then each new pending intent once', async () => {
    const waiting = await createIntent('Already waiting when watch starts');
    const child = spawnCli(['watch', '--interval', '1'], { env: env() });
    const done = collect(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    await until(() => (output.includes(waiting.id) ? true : undefined), 15_000, 'the first poll');
    const arriving = await createIntent('Arrives while watching, as text');
    await until(
      () => (output.includes(arriving.id) ? true : undefined),
      10_000,
      'the new intent in the watch output',
    );
    // A few more polls: nothing is printed twice.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    child.kill('SIGINT');
    const result = await done;

    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      `Watching ${stack.url} for intents waiting for your decision (every 1s; Ctrl-C to stop).`,
    );
    const lines = result.stdout.trim().split('\n');
    const lineOf = (intent: Intent) => lines.filter((line) => line.startsWith(`${intent.id}  `));
    expect(lineOf(waiting)).toHaveLength(1);
    expect(lineOf(arriving)).toHaveLength(1);
    expect(lineOf(arriving)[0]).toMatch(
      new RegExp(
        `^${arriving.id}  Arrives while watching, as text  \\(from ${arriving.from_agent}; deadline in \\d+h( \\d+m)?\\)$`,
      ),
    );
    expect(lines.indexOf(lineOf(waiting)[0] ?? '')).toBeLessThan(
      lines.indexOf(lineOf(arriving)[0] ?? ''),
    );
  });

  it('watch prints each new pending intent as it arrives, and Ctrl-C ends it with exit 0', async () => {
    const child = spawnCli(['watch', '--interval', '1', '--json'], { env: env() });
    const done = collect(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    // Whatever is already waiting is printed first; then a new intent arrives.
    await until(() => (output.includes('\n') ? true : undefined), 15_000, 'the first poll');
    const arriving = await createIntent('Arrives while watching');
    await until(
      () => (output.includes(arriving.id) ? true : undefined),
      10_000,
      'the new intent in the watch output',
    );
    child.kill('SIGINT');
    const result = await done;
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    const ids = lines.map((line) => (JSON.parse(line) as Intent).id);
    expect(ids.filter((id) => id === arriving.id)).toHaveLength(1);
  });
});

describe("me (a reviewer's profile)", () => {
  it('me set stores the time zone, hours and an absence; me shows them; --back clears it', async () => {
    const set = await cli(
      [
        'me',
        'set',
        '--time-zone',
        'Asia/Kathmandu',
        '--hours',
        'mon-thu 09:00-12:00 13:00-17:30, fri 09:00-15:00',
      ],
      { env: asReviewer() },
    );
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    expect(set.stdout).toContain('time zone      Asia/Kathmandu');
    expect(set.stdout).toContain('mon  09:00-12:00, 13:00-17:30');
    expect(set.stdout).toContain('sat  -');

    const away = await cli(
      [
        'me',
        'set',
        '--away-from',
        '2026-12-24T00:00:00+05:45',
        '--away-until',
        '2099-01-02T00:00:00Z',
        '--delegate',
        'Deputy@Company.com',
        '--json',
      ],
      { env: asReviewer() },
    );
    expect(away.code).toBe(0);
    expect(JSON.parse(away.stdout)).toMatchObject({
      email: REVIEWER,
      time_zone: 'Asia/Kathmandu',
      working_hours: { fri: ['09:00-15:00'], sat: [] },
      out_of_office: {
        from: '2026-12-23T18:15:00.000Z',
        until: '2099-01-02T00:00:00.000Z',
        delegate: 'deputy@company.com',
      },
    });
    const shown = await cli(['me'], { env: asReviewer() });
    expect(shown.stdout).toContain('notices go to deputy@company.com');
    const onlyAdmins = await cli(['me', '--email', OTHER_REVIEWER], { env: asReviewer() });
    expect(onlyAdmins.code).toBe(3);
    const byAdmin = await cli(['me', '--email', REVIEWER, '--json'], { env: asAdmin() });
    expect(JSON.parse(byAdmin.stdout).out_of_office.delegate).toBe('deputy@company.com');

    const back = await cli(['me', 'set', '--back'], { env: asReviewer() });
    expect(back.stdout).toContain('out of office  no');
    const bad = await cli(['me', 'set', '--time-zone', 'Mars/Olympus'], { env: asReviewer() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('time_zone');
    const incomplete = await cli(['me', 'set', '--away-from', '2026-12-24T00:00:00Z'], {
      env: asReviewer(),
    });
    expect(incomplete.code).toBe(1);
    const badHours = await cli(['me', 'set', '--hours', 'weekdays 9-5'], { env: asReviewer() });
    expect(badHours.code).toBe(1);
  });
});

describe('decisions in bulk', () => {
  const BULK_REVIEWER = 'bulk-reviewer@company.com';
  let bulkKey: string;
  const asBulkReviewer = () => env({ COUNTERSIGN_URL: stack.url, COUNTERSIGN_API_KEY: bulkKey });
  const ask = (summary: string, intentType: string) =>
    agent.createIntent({
      intent_type: intentType,
      to_agent: 'agent://myorg/refunds',
      summary,
      payload: { summary, reviewer: BULK_REVIEWER },
    });

  beforeAll(async () => {
    bulkKey = (await admin.createKey({ role: 'reviewer', principal: BULK_REVIEWER })).key;
  });

  it('approve --all --type --dry-run shows the matching intents and decides nothing; n decides nothing', async () => {
    const refunds = [
      await ask('Refund order 1001', 'intent.refund.v1'),
      await ask('Refund order 1002', 'intent.refund.partial.v1'),
    ];
    const expense = await ask('Expense 77', 'intent.expense.v1');

    const dryRun = await cli(['approve', '--all', '--type', 'intent.refund.*', '--dry-run'], {
      env: asBulkReviewer(),
    });
    expect(dryRun.code).toBe(0);
    expect(dryRun.stdout).toMatch(/^ID +CREATED +DEADLINE +FROM +SUMMARY/);
    for (const intent of refunds) expect(dryRun.stdout).toContain(intent.id);
    expect(dryRun.stdout).not.toContain(expense.id);
    expect(dryRun.stdout).toContain('Dry run: would approve these 2. Nothing was decided.');

    const declined = await cli(['approve', '--all', '--type', 'intent.refund.*'], {
      env: asBulkReviewer(),
      input: 'n\n',
    });
    expect(declined.code).toBe(0);
    expect(declined.stdout).toContain('Approve these 2? [y/N] Nothing was decided.');
    for (const intent of [...refunds, expense]) {
      expect((await agent.getIntent(intent.id)).status).toBe('pending');
    }

    // Clean up for the next test: everything of this reviewer rejected, without asking.
    const cleared = await cli(['reject', '--all', '-m', 'Test over', '--yes', '--json'], {
      env: asBulkReviewer(),
    });
    expect(cleared.code).toBe(0);
    const { results } = JSON.parse(cleared.stdout) as { results: { status: number }[] };
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it('asks y/N, then decides each; an intent decided meanwhile is its own failure (exit 2)', async () => {
    const intents = [
      await ask('Refund order 2001', 'intent.refund.v1'),
      await ask('Refund order 2002', 'intent.refund.v1'),
      await ask('Refund order 2003', 'intent.refund.v1'),
    ];
    const child = spawnCli(['approve', '--all', '--type', 'intent.refund.*'], {
      env: asBulkReviewer(),
    });
    const done = collect(child, KEEP_STDIN_OPEN);
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    await until(
      () => (stdout.includes('Approve these 3? [y/N]') ? true : undefined),
      15_000,
      'the question',
    );
    // While the question waits, the agent cancels one of them.
    await agent.cancel(intents[1]?.id ?? '', 'No longer needed');
    child.stdin?.end('y\n');
    const result = await done;
    expect(result.code, result.stderr).toBe(2);
    expect(stdout).toMatch(new RegExp(`approved +${intents[0]?.id}`));
    expect(stdout).toMatch(new RegExp(`failed +${intents[1]?.id} +409 already_decided`));
    expect(stdout).toMatch(new RegExp(`approved +${intents[2]?.id}`));
    expect(stdout).toContain('2 of 3 approvals recorded; 1 failed.');
    for (const intent of [intents[0], intents[2]]) {
      expect((await agent.getIntent(intent?.id ?? '')).decision).toMatchObject({
        outcome: 'approved',
        by: BULK_REVIEWER,
        channel: 'cli',
      });
    }
    expect((await agent.getIntent(intents[1]?.id ?? '')).status).toBe('cancelled');
  });

  it('reject --all needs a reason; bulk options need --all', async () => {
    const [noReason, typeAlone, both] = await Promise.all([
      cli(['reject', '--all'], { env: asBulkReviewer() }),
      cli(['approve', 'int_1', '--type', 'intent.*'], { env: asBulkReviewer() }),
      cli(['approve', 'int_1', '--all'], { env: asBulkReviewer() }),
    ]);
    expect(noReason).toMatchObject({ code: 1 });
    expect(noReason.stderr).toContain('reject --all needs a reason');
    expect(typeAlone).toMatchObject({ code: 1 });
    expect(typeAlone.stderr).toContain('--type goes with --all.');
    expect(both).toMatchObject({ code: 1 });
    expect(both.stderr).toContain('either one <id> or --all');
  });

  it('POST /v1/decisions answers 100 items one by one and refuses 101 as a whole', async () => {
    const reviewer = new CountersignClient({ baseUrl: stack.url, apiKey: bulkKey });
    const intents = await Promise.all(
      Array.from({ length: 100 }, (_, n) => ask(`Refund batch item ${n}`, 'intent.refund.v1')),
    );
    const items = intents.map((intent) => ({ intent_id: intent.id, outcome: 'approve' as const }));
    const refused = await reviewer
      .decideMany([...items, { intent_id: 'int_one_too_many', outcome: 'approve' }])
      .then(
        () => undefined,
        (error: unknown) => error as { status: number; code: string },
      );
    expect(refused).toMatchObject({ status: 400, code: 'validation_failed' });
    expect((await agent.getIntent(intents[0]?.id ?? '')).status).toBe('pending');

    const { results } = await reviewer.decideMany(items);
    expect(results.map((r) => r.intent_id)).toEqual(intents.map((intent) => intent.id));
    expect(
      results.every((r) => r.status === 200 && 'intent' in r && r.intent.status === 'approved'),
    ).toBe(true);
    const again = await reviewer.decideMany(items.slice(0, 2));
    expect(again.results.map((r) => [r.status, 'error' in r ? r.error.code : null])).toEqual([
      [409, 'already_decided'],
      [409, 'already_decided'],
    ]);
  });
});

describe('keys (admin)', () => {
  it('creates a key shown once, lists keys without secrets, revokes it, and the revoked key is refused', async () => {
    const created = await cli(
      ['keys', 'create', '--role', 'reviewer', '--principal', 'new@company.com'],
      {
        env: asAdmin(),
      },
    );
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^csk_\S+$/);
    expect(created.stdout).toBe(`${key}\n`);
    expect(created.stderr).toContain('This is the only time the key is shown');
    expect(created.stderr).not.toContain(key);
    const id = /key (\S+) for new@company\.com/.exec(created.stderr)?.[1];
    expect(id).toBeDefined();

    const asJson = await cli(
      ['keys', 'create', '--role', 'agent', '--principal', 'agent://acme/bot', '--json'],
      { env: asAdmin() },
    );
    const agentKey = JSON.parse(asJson.stdout) as { id: string; key: string; role: string };
    expect(agentKey).toMatchObject({ role: 'agent', principal: 'agent://acme/bot' });
    expect(agentKey.key).toMatch(/^csk_/);

    const list = await cli(['keys', 'list'], { env: asAdmin() });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${id} +reviewer +new@company\\.com`));
    const listJson = await cli(['keys', 'list', '--json'], { env: asAdmin() });
    const items = JSON.parse(listJson.stdout) as Record<string, unknown>[];
    expect(items.map((item) => item.id)).toEqual(expect.arrayContaining([id, agentKey.id]));
    expect(items.some((item) => 'key' in item)).toBe(false);
    for (const secret of [key, agentKey.key, reviewerKey, stack.settings.api_keys.admin]) {
      expect(list.stdout + listJson.stdout).not.toContain(secret);
    }

    const works = await cli(['pending'], { env: env({ COUNTERSIGN_API_KEY: key }) });
    expect(works.code).toBe(0);
    const revoked = await cli(['keys', 'revoke', id ?? ''], { env: asAdmin() });
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`Revoked reviewer key ${id} of new@company.com`);
    const refused = await cli(['pending'], { env: env({ COUNTERSIGN_API_KEY: key }) });
    expect(refused.code).toBe(3);
  });

  it('creates an agent key scoped to intent types with hourly quotas', async () => {
    const created = await cli(
      [
        'keys',
        'create',
        '--role',
        'agent',
        '--principal',
        'agent://acme/refunds',
        '--intent-types',
        'intent.refund.*, intent.credit.v1',
        '--intents-per-hour',
        '100',
        '--notifications-per-hour',
        '1000',
        '--json',
      ],
      { env: asAdmin() },
    );
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({
      role: 'agent',
      intent_types: ['intent.refund.*', 'intent.credit.v1'],
      quota: { intents_per_hour: 100, notifications_per_hour: 1000 },
    });
    const badNumber = await cli(
      [
        'keys',
        'create',
        '--role',
        'agent',
        '--principal',
        'agent://x',
        '--intents-per-hour',
        '1.5',
      ],
      { env: asAdmin() },
    );
    expect(badNumber.code).toBe(1);
    expect(badNumber.stderr).toContain('--intents-per-hour takes a whole number');
    const onReviewer = await cli(
      [
        'keys',
        'create',
        '--role',
        'reviewer',
        '--principal',
        'r@company.com',
        '--intent-types',
        'a.b',
      ],
      { env: asAdmin() },
    );
    expect(onReviewer.stderr).toContain('validation_failed');
  });

  it('keys commands need an admin key (exit 3) and a known role (exit 1)', async () => {
    const asReviewerResult = await cli(['keys', 'list'], { env: asReviewer() });
    expect(asReviewerResult.code).toBe(3);
    expect(asReviewerResult.stderr).toContain('[forbidden, HTTP 403]');
    const badRole = await cli(['keys', 'create', '--role', 'boss', '--principal', 'x'], {
      env: asAdmin(),
    });
    expect(badRole.code).toBe(1);
    expect(badRole.stderr).toContain('--role must be one of agent, reviewer, admin');
  });
});

/** The local stack behind a proxy that serves tampered audit trails. */
async function tamperingProxy(
  tamper: (events: AuditEvent[]) => AuditEvent[],
  tamperIntent: (intent: Intent) => Intent = (intent) => intent,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer(async (request, response) => {
    const upstream = await fetch(`${stack.url}${request.url ?? '/'}`, {
      method: request.method,
      headers: { authorization: request.headers.authorization ?? '' },
    });
    let body = await upstream.text();
    if (upstream.ok && /\/events$/.test(new URL(request.url ?? '/', stack.url).pathname)) {
      const trail = JSON.parse(body) as { items: AuditEvent[] };
      body = JSON.stringify({ items: tamper(trail.items) });
    } else if (
      upstream.ok &&
      /^\/v1\/intents\/[^/]+$/.test(new URL(request.url ?? '/', stack.url).pathname)
    ) {
      body = JSON.stringify(tamperIntent(JSON.parse(body) as Intent));
    }
    response.writeHead(upstream.status, { 'content-type': 'application/json' });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The intent and its trail once nothing is being appended any more. */
async function settled(id: string): Promise<{ intent: Intent; events: AuditEvent[] }> {
  let previous = -1;
  return until(
    async () => {
      const intent = await agent.getIntent(id);
      const { items } = await agent.events(id);
      // Final, and told: the notices that the intent ended come after its final event.
      const told = items.some((e) => e.data.kind === 'decided');
      const stable = intent.event_count === items.length && items.length === previous && told;
      previous = items.length;
      return stable && intent.status !== 'pending' ? { intent, events: items } : undefined;
    },
    15_000,
    `the trail of ${id} to settle`,
  );
}

/** An intent its reviewer was notified of, then rejected, with its settled trail. */
async function decidedIntent(summary: string, comment: string): Promise<Intent> {
  const { id } = await createIntent(summary);
  await until(
    async () =>
      (await agent.events(id)).items.some((e) => e.type === 'notified') ? true : undefined,
    15_000,
    'the first notification',
  );
  const reviewer = new CountersignClient({ baseUrl: stack.url, apiKey: reviewerKey });
  await reviewer.decide(id, { outcome: 'reject', comment });
  return (await settled(id)).intent;
}

describe('policies (admin)', () => {
  it('puts a policy from standard input, lists and shows it, dry-runs its rules, and deletes it', async () => {
    const type = 'intent.cli.refund.v1';
    for (const amount of [20, 500, 30]) {
      await agent.createIntent({
        intent_type: type,
        to_agent: 'agent://myorg/refunds',
        reviewers: [REVIEWER],
        payload: { amount },
      });
    }
    const policy = {
      reviewers: [REVIEWER],
      rules: [
        { name: 'small', effect: 'approve', when: [{ pointer: '/amount', op: 'lt', value: 100 }] },
      ],
    };
    const put = await cli(['policies', 'put', 'intent.cli.*', '--file', '-'], {
      env: asAdmin(),
      input: JSON.stringify(policy),
    });
    expect(put, put.stderr).toMatchObject({
      code: 0,
      stdout: 'Policy intent.cli.* is at version 1.\n',
    });

    const list = await cli(['policies', 'list'], { env: asAdmin() });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/INTENT TYPE\s+SOURCE\s+VERSION[\s\S]*intent\.cli\.\*\s+api\s+1/);
    const shown = await cli(['policies', 'get', 'intent.cli.*', '--json'], { env: asAdmin() });
    expect(JSON.parse(shown.stdout)).toMatchObject({
      intent_type: 'intent.cli.*',
      version: 1,
      ...policy,
    });

    const dryRun = await cli(['policies', 'dry-run', type, '--file', '-', '--json'], {
      env: asAdmin(),
      input: JSON.stringify(policy),
    });
    expect(dryRun.code).toBe(0);
    const result = JSON.parse(dryRun.stdout) as {
      items: { would: string; rule: string | null }[];
      summary: unknown;
    };
    // Newest first: 30, 500, 20.
    expect(result.items.map((item) => [item.would, item.rule])).toEqual([
      ['approve', 'small'],
      ['ask', null],
      ['approve', 'small'],
    ]);
    expect(result.summary).toEqual({ total: 3, approve: 2, reject: 0, ask: 1 });

    const asAgent = env({
      COUNTERSIGN_URL: stack.url,
      COUNTERSIGN_API_KEY: stack.settings.api_keys.agent,
    });
    expect((await cli(['policies', 'list'], { env: asAgent })).code).toBe(3);
    expect((await cli(['policies', 'delete', 'intent.cli.*'], { env: asAdmin() })).code).toBe(0);
    expect((await cli(['policies', 'get', 'intent.cli.*'], { env: asAdmin() })).code).toBe(2);
  });
});

describe('audit', () => {
  it('verify says OK for a real trail, with exit 0', async () => {
    const intent = await decidedIntent('Wire 40k to the new vendor', 'Unknown vendor');
    const human = await cli(['audit', 'verify', intent.id], { env: env() });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(
      new RegExp(`^OK  ${intent.id}: the audit trail is intact\\. ${intent.event_count} events`),
    );
    const json = await cli(['audit', 'verify', intent.id, '--json'], { env: env() });
    expect(JSON.parse(json.stdout)).toEqual({
      intent_id: intent.id,
      ok: true,
      event_count: intent.event_count,
      last_event_hash: intent.last_event_hash,
      payload_covered: true,
      receipt: 'verified',
    });
    expect(human.stdout).toMatch(/Its receipt verifies with the deployment's public key/);
    expect(human.stdout).toMatch(/The created event records this payload \(payload_sha256\)/);
  });

  it('the library flags every tampering of a real trail: edit, removal, truncation, reorder', async () => {
    const { id } = await decidedIntent('Grant prod access to the contractor', 'Not this week');
    const { intent, events: items } = await settled(id);
    const head = { eventCount: intent.event_count, lastEventHash: intent.last_event_hash };
    expect(items.length).toBeGreaterThanOrEqual(3);
    expect(verifyTrail(items, head)).toMatchObject({ ok: true, eventCount: items.length });

    const last = items.at(-1) as AuditEvent;
    const edited = items.map((event) =>
      event.seq === last.seq ? { ...event, data: { ...event.data, comment: 'Approved!' } } : event,
    );
    expect(verifyTrail(edited, head)).toMatchObject({ ok: false, problem: 'hash', seq: last.seq });

    const removed = items.filter((event) => event.seq !== 2);
    expect(verifyTrail(removed, head)).toMatchObject({
      ok: false,
      problem: 'sequence',
      index: 1,
      intactCount: 1,
    });

    const truncated = items.slice(0, -1);
    expect(verifyTrail(truncated, head)).toMatchObject({ ok: false, problem: 'event_count' });

    const [a, b, ...rest] = items as [AuditEvent, AuditEvent, ...AuditEvent[]];
    expect(verifyTrail([b, a, ...rest], head)).toMatchObject({
      ok: false,
      problem: 'sequence',
      index: 0,
    });
  });

  it('verify exits 4 and says where the trail breaks when the API serves a tampered one', async () => {
    const intent = await decidedIntent('Ship the release on Friday', 'Freeze week');
    const cases: [string, (events: AuditEvent[]) => AuditEvent[], RegExp][] = [
      ['truncated', (events) => events.slice(0, -1), /the last 1 is missing/],
      [
        'edited',
        (events) => events.map((e) => (e.seq === 2 ? { ...e, actor: 'mallory@evil.example' } : e)),
        /event 2 was altered/,
      ],
    ];
    for (const [name, tamper, message] of cases) {
      const proxy = await tamperingProxy(tamper);
      try {
        const result = await cli(['audit', 'verify', intent.id], {
          env: env({ COUNTERSIGN_URL: proxy.url, COUNTERSIGN_API_KEY: reviewerKey }),
        });
        expect({ name, code: result.code }).toEqual({ name, code: 4 });
        expect(result.stdout).toMatch(new RegExp(`^BROKEN  ${intent.id}: `));
        expect(result.stdout).toMatch(message);
      } finally {
        await proxy.close();
      }
    }
  });

  it('verify exits 4 for a trail rewritten with fresh hashes and head: the signed receipt names the real one', async () => {
    const intent = await decidedIntent('Rotate the prod database password', 'Not during the audit');
    // Someone with table access rewrites the rejection's reason and re-chains every later event,
    // and the intent's head with it: the chain and the head verify.
    const rewrite = (events: AuditEvent[]) => {
      let prevHash = events[0]?.prev_hash ?? '';
      return events.map((event) => {
        const data =
          event.type === 'rejection' ? { ...event.data, comment: 'Looks good' } : event.data;
        const unsealed = { ...event, data, prev_hash: prevHash };
        prevHash = hashAuditEvent(unsealed);
        return { ...unsealed, hash: prevHash };
      });
    };
    const { items } = await agent.events(intent.id);
    const rewritten = rewrite(items);
    expect(
      verifyTrail(rewritten, {
        eventCount: items.length,
        lastEventHash: rewritten.at(-1)?.hash ?? '',
      }),
    ).toMatchObject({ ok: true });
    const proxy = await tamperingProxy(rewrite, (served) => ({
      ...served,
      last_event_hash: rewritten.at(-1)?.hash ?? '',
    }));
    try {
      const result = await cli(['audit', 'verify', intent.id], {
        env: env({ COUNTERSIGN_URL: proxy.url, COUNTERSIGN_API_KEY: reviewerKey }),
      });
      expect(result.code).toBe(4);
      expect(result.stdout).toMatch(
        new RegExp(
          `^BROKEN  ${intent.id}: the receipt was signed over event \\d+ .* the trail was rewritten`,
        ),
      );
      expect(result.stdout).toMatch(/signed receipt does not vouch for this intent and trail/);
    } finally {
      await proxy.close();
    }
  });

  it('export writes every event of the intents created since, as JSON Lines and as RFC 4180 CSV', async () => {
    const since = new Date(Date.now() - 1_000).toISOString();
    const reason = 'No, "not" now,\nsorry';
    const intent = await decidedIntent('Export me, please', reason);

    const jsonl = await cli(['audit', 'export', '--since', since], { env: asAdmin() });
    expect(jsonl.code).toBe(0);
    expect(jsonl.stderr).toMatch(/Exported \d+ events? of \d+ intents? created since/);
    const rows = jsonl.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditEvent & { intent_id: string });
    const mine = rows.filter((row) => row.intent_id === intent.id);
    expect(mine.map((row) => row.seq)).toEqual(
      Array.from({ length: intent.event_count }, (_, i) => i + 1),
    );
    const events = mine.map(({ intent_id: _id, ...event }) => event);
    expect(
      verifyTrail(events, {
        eventCount: intent.event_count,
        lastEventHash: intent.last_event_hash,
      }),
    ).toMatchObject({ ok: true });
    for (const row of rows) {
      // Only intents created since --since: each exported trail starts with its creation.
      if (row.seq === 1) expect(row.at >= since).toBe(true);
    }

    const csv = await cli(['audit', 'export', '--since', '5m', '--format', 'csv'], {
      env: asAdmin(),
    });
    expect(csv.code).toBe(0);
    const [header, ...records] = parseCsv(csv.stdout);
    expect(header).toEqual([
      'intent_id',
      'seq',
      'type',
      'at',
      'actor',
      'channel',
      'data',
      'prev_hash',
      'hash',
    ]);
    const mineCsv = records.filter((record) => record[0] === intent.id);
    expect(mineCsv).toHaveLength(intent.event_count);
    const rejection = mineCsv.find((record) => record[2] === 'rejected');
    expect(rejection).toBeDefined();
    expect(JSON.parse(rejection?.[6] ?? '{}')).toMatchObject({ comment: reason });
    expect(mineCsv.at(-1)?.[8]).toBe(intent.last_event_hash);

    const file = path.join(home, 'export.csv');
    const toFile = await cli(['audit', 'export', '--since', '5m', '--format', 'csv', '-o', file], {
      env: asAdmin(),
    });
    expect(toFile.code).toBe(0);
    expect(toFile.stdout).toBe('');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toContain(intent.last_event_hash);

    const bad = await cli(['audit', 'export', '--since', 'last tuesday'], { env: asAdmin() });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--since takes a time');
  });
});

describe('the published binary', () => {
  it('is the package bin: built by the SDK build, with a shebang, runnable under plain node', async () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'sdk/package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(pkg.bin.countersign).toBe('./dist/cli/main.js');
    expect(binary.endsWith(path.join('cli', 'main.js'))).toBe(true);
    expect(readFileSync(binary, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const version = await cli(['--version'], { env: env() });
    expect(version).toMatchObject({ code: 0, stdout: `${SDK_VERSION}\n` });
  });
});
