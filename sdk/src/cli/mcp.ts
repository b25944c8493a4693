/**
 * `countersign mcp` (the approval tools over stdio) and `countersign mcp-gateway` (approval in
 * front of any MCP server). The MCP SDK is loaded only by these two commands, from the
 * separate `mcp` entry point, so that every other command and the core client stay free of it.
 */
import { readFile } from 'node:fs/promises';
import { type Args, type Command, clientFor, requiredOption, stringOption } from './command.js';
import { loadCredentials } from './config.js';
import { CliError, type Context, EXIT, type ExitCode, usageError } from './context.js';

const loadMcp = () => import('../mcp/index.js');

/** An upstream (or Countersign's /mcp) that cannot be reached at start-up. */
function unreachable(error: unknown): CliError {
  return new CliError((error as Error).message, {
    exitCode: EXIT.UNAVAILABLE,
    code: 'unavailable',
    hints: ['Check the URL or command, and that the server is running.'],
  });
}

export const mcp: Command = {
  name: 'mcp',
  summary: 'serve the approval tools to an MCP client over stdio',
  synopsis: 'mcp',
  description: [
    'Speaks MCP on stdin/stdout for clients that launch servers as commands (Claude Desktop,',
    "Claude Code, Cursor). The tools are those of the API's /mcp endpoint for your key's role:",
    'request_approval, get_approval and cancel_approval for agent keys; list_pending_approvals and',
    'decide_approval for reviewer keys. Uses COUNTERSIGN_URL and COUNTERSIGN_API_KEY (or the',
    'stored login). Logs go to stderr; stdout carries only MCP.',
  ].join('\n'),
  options: {},
  optionHelp: [],
  jsonHelp: 'not applicable: stdout carries MCP messages',
  positionals: { min: 0, max: 0 },
  examples: ['COUNTERSIGN_URL=http://127.0.0.1:4700 COUNTERSIGN_API_KEY=csk_… countersign mcp'],
  async run(ctx: Context): Promise<ExitCode> {
    const credentials = await loadCredentials(ctx);
    const { serveCountersignOverStdio } = await loadMcp();
    try {
      await serveCountersignOverStdio(credentials, ctx.io.signal);
    } catch (error) {
      throw unreachable(error);
    }
    return EXIT.OK;
  },
};

export const mcpGateway: Command = {
  name: 'mcp-gateway',
  summary: 'put human approval in front of any MCP server',
  synopsis: 'mcp-gateway --config <gateway.json> [--port <n>]',
  description: [
    'Runs an MCP server that launches (command) or connects to (url) the upstream MCP server of',
    'the config and exposes its tools unchanged. Calls matching a rule (tool name globs, argument',
    'conditions) first become Countersign intents and reach the upstream only once approved, with',
    'the arguments as approved; a rejection or timeout is a tool error carrying the reason. Other',
    'calls pass straight through. Serves stdio, or Streamable HTTP at http://127.0.0.1:<port>/mcp',
    'with --port. Uses COUNTERSIGN_URL and COUNTERSIGN_API_KEY (an agent key) or the stored login.',
  ].join('\n'),
  options: { config: { type: 'string', short: 'c' }, port: { type: 'string', short: 'p' } },
  optionHelp: [
    ['-c, --config <file>', 'the gateway configuration (JSON; see docs/mcp.md)'],
    [
      '-p, --port <n>',
      'serve Streamable HTTP on 127.0.0.1:<n> instead of stdio (0: any free port)',
    ],
  ],
  jsonHelp: 'not applicable: the gateway speaks MCP',
  positionals: { min: 0, max: 0 },
  examples: [
    'countersign mcp-gateway --config gateway.json',
    'countersign mcp-gateway --config gateway.json --port 4810',
  ],
  async run(ctx: Context, args: Args): Promise<ExitCode> {
    const file = requiredOption(args, 'config', 'mcp-gateway');
    const portText = stringOption(args, 'port');
    const port = portText === undefined ? undefined : Number(portText);
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
      throw usageError(
        `--port must be a port number (0 to 65535), got ${JSON.stringify(portText)}.`,
      );
    }
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new CliError(`Cannot read ${file}: ${(error as Error).message}`, {
        exitCode: EXIT.LOCAL,
        code: 'config_unreadable',
      });
    }
    const mcpModule = await loadMcp();
    let config: ReturnType<typeof mcpModule.parseGatewayConfig>;
    try {
      config = mcpModule.parseGatewayConfig(text, file);
    } catch (error) {
      throw new CliError((error as Error).message, {
        exitCode: EXIT.USAGE,
        code: 'config_invalid',
      });
    }
    const client = clientFor(await loadCredentials(ctx));
    try {
      await mcpModule.runGateway(config, client, {
        port,
        signal: ctx.io.signal,
        listening: (url) => ctx.io.stderr(`countersign mcp-gateway: serving ${url}\n`),
      });
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw unreachable(error);
    }
    return EXIT.OK;
  },
};
