/** `keys create|list|revoke` (admin). */
import type { CreateKeyRequest, KeyQuota, Role } from '../types.js';
import {
  type Args,
  type Command,
  connect,
  firstPositional,
  requiredOption,
  stringOption,
} from './command.js';
import {
  type Context,
  EXIT,
  type ExitCode,
  eprintln,
  printJson,
  println,
  usageError,
} from './context.js';
import { clean, table } from './format.js';

const ROLES: readonly Role[] = ['agent', 'reviewer', 'admin'];

export const keysCreate: Command = {
  name: 'keys create',
  summary: 'create an API key (admin)',
  synopsis:
    'keys create --role <agent|reviewer|admin> --principal <name> [--intent-types <a,b>] [--intents-per-hour <n>] [--notifications-per-hour <n>]',
  description: [
    'Creates an API key. The key is printed once, alone on standard output (the rest goes to',
    'standard error), so `KEY=$(countersign keys create ...)` captures just the key. The API',
    'stores only its hash: it cannot be shown again. An agent key may be limited to some intent',
    'types and given hourly quotas; over its intents quota a create is refused (429) until the',
    'hour ends.',
  ].join('\n'),
  options: {
    role: { type: 'string' },
    principal: { type: 'string' },
    'intent-types': { type: 'string' },
    'intents-per-hour': { type: 'string' },
    'notifications-per-hour': { type: 'string' },
  },
  optionHelp: [
    ['--role <role>', 'agent, reviewer or admin'],
    [
      '--principal <name>',
      "a reviewer's email, an agent name (agent://org/env/name), or an operator",
    ],
    [
      '--intent-types <a,b>',
      'agent keys: the intent types it may create (intent.refund.* is a prefix; default all)',
    ],
    ['--intents-per-hour <n>', 'agent keys: how many intents it may create per hour'],
    ['--notifications-per-hour <n>', 'agent keys: how many notices its intents may send per hour'],
  ],
  jsonHelp: 'the new key\'s metadata with "key" (the only time it is shown)',
  positionals: { min: 0, max: 0 },
  examples: [
    'countersign keys create --role reviewer --principal cfo@company.com',
    'countersign keys create --role agent --principal agent://myorg/production/report-generator',
    'countersign keys create --role agent --principal agent://myorg/refunds --intent-types intent.refund.* --intents-per-hour 100',
  ],
  async run(ctx: Context, args: Args): Promise<ExitCode> {
    const role = requiredOption(args, 'role', 'keys create');
    const principal = requiredOption(args, 'principal', 'keys create').trim();
    if (!(ROLES as readonly string[]).includes(role)) {
      throw usageError(`--role must be one of ${ROLES.join(', ')}, not ${JSON.stringify(role)}.`);
    }
    const request: CreateKeyRequest = { role: role as Role, principal, ...agentLimits(args) };
    const { client } = await connect(ctx);
    const created = await client.createKey(request, { signal: ctx.io.signal });
    if (ctx.json) {
      printJson(ctx, created);
      return EXIT.OK;
    }
    eprintln(
      ctx,
      `Created ${clean(created.role)} key ${clean(created.id)} for ${clean(created.principal)}:`,
    );
    println(ctx, created.key);
    eprintln(
      ctx,
      'This is the only time the key is shown. Store it now (e.g. in a secrets manager).',
    );
    return EXIT.OK;
  },
};

/** The agent key options: `--intent-types a,b` and the hourly quotas, as the API takes them. */
function agentLimits(args: Args): Pick<CreateKeyRequest, 'intent_types' | 'quota'> {
  const types = stringOption(args, 'intent-types');
  const quota: KeyQuota = {};
  for (const [option, field] of [
    ['intents-per-hour', 'intents_per_hour'],
    ['notifications-per-hour', 'notifications_per_hour'],
  ] as const) {
    const text = stringOption(args, option);
    if (text === undefined) continue;
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || value < 1) {
      throw usageError(`--${option} takes a whole number from 1, not ${JSON.stringify(text)}.`);
    }
    quota[field] = value;
  }
  return {
    ...(types === undefined
      ? {}
      : {
          intent_types: types
            .split(',')
            .map((type) => type.trim())
            .filter(Boolean),
        }),
    ...(Object.keys(quota).length > 0 ? { quota } : {}),
  };
}

export const keysList: Command = {
  name: 'keys list',
  summary: 'list API keys (admin; never the keys themselves)',
  synopsis: 'keys list',
  description:
    "Lists every key's id, role, principal, prefix and dates. The keys themselves are never shown.",
  options: {},
  optionHelp: [],
  jsonHelp: 'an array of key metadata objects',
  positionals: { min: 0, max: 0 },
  examples: [
    'countersign keys list',
    "countersign keys list --json | jq '.[] | select(.revoked_at == null)'",
  ],
  async run(ctx: Context): Promise<ExitCode> {
    const { client } = await connect(ctx);
    const { items } = await client.listKeys({ signal: ctx.io.signal });
    if (ctx.json) {
      printJson(ctx, items);
      return EXIT.OK;
    }
    if (items.length === 0) {
      println(ctx, 'No keys.');
      return EXIT.OK;
    }
    println(
      ctx,
      table(
        ['ID', 'ROLE', 'PRINCIPAL', 'PREFIX', 'CREATED', 'REVOKED'],
        items.map((key) => [
          clean(key.id),
          clean(key.role),
          clean(key.principal),
          clean(key.prefix),
          clean(key.created_at),
          key.revoked_at ? clean(key.revoked_at) : '-',
        ]),
      ),
    );
    return EXIT.OK;
  },
};

export const keysRevoke: Command = {
  name: 'keys revoke',
  summary: 'revoke an API key (admin)',
  synopsis: 'keys revoke <key id>',
  description:
    'Revokes a key at once: every later call with it is 401. Revoking twice is harmless.',
  options: {},
  optionHelp: [],
  jsonHelp: "the revoked key's metadata",
  positionals: { min: 1, max: 1 },
  examples: ['countersign keys revoke key_01JD6X3M2Q7R8S9T0V1W2X3Y4Z'],
  async run(ctx: Context, args: Args): Promise<ExitCode> {
    const id = firstPositional(args);
    const { client } = await connect(ctx);
    const revoked = await client.revokeKey(id, { signal: ctx.io.signal });
    if (ctx.json) printJson(ctx, revoked);
    else {
      println(
        ctx,
        `Revoked ${clean(revoked.role)} key ${clean(revoked.id)} of ${clean(revoked.principal)} (at ${clean(revoked.revoked_at ?? '-')}).`,
      );
    }
    return EXIT.OK;
  },
};
