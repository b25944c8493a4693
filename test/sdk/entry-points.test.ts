import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The client entry of @countersign/sdk has no runtime dependencies: everything it imports,
 * transitively, is its own code or a `node:` module. The MCP SDK (and zod) belong to the
 * `@countersign/sdk/mcp` entry and the CLI's mcp commands only, loaded on demand.
 */
const SDK_SRC = path.resolve(import.meta.dirname, '../../sdk/src');
const IMPORT =
  /^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm;

/** Every module specifier `entry` loads at import time (static imports only), transitively. */
function staticImports(entry: string): Set<string> {
  const seen = new Set<string>();
  const external = new Set<string>();
  const pending = [path.join(SDK_SRC, entry)];
  for (let file = pending.pop(); file; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2] ?? '';
      if (specifier.startsWith('.')) {
        pending.push(path.resolve(path.dirname(file), specifier.replace(/\.js$/, '.ts')));
      } else {
        external.add(specifier);
      }
    }
  }
  return external;
}

const packages = (specifiers: Set<string>) =>
  [...specifiers].filter((specifier) => !specifier.startsWith('node:')).sort();

describe('sdk entry points', () => {
  it('the client entry imports nothing outside the package but node: modules', () => {
    expect(packages(staticImports('index.ts'))).toEqual([]);
  });

  it('the CLI loads the MCP SDK only on demand (every other command runs without it)', () => {
    expect(packages(staticImports('cli/main.ts'))).toEqual([]);
  });

  it('the mcp entry is where the MCP SDK and zod come in', () => {
    const mcp = packages(staticImports('mcp/index.ts'));
    expect(mcp.some((name) => name.startsWith('@modelcontextprotocol/sdk/'))).toBe(true);
    expect(mcp).toContain('zod');
  });

  it('each framework adapter brings in its framework only', () => {
    expect(packages(staticImports('langgraph/index.ts'))).toEqual(['@langchain/langgraph']);
    expect(packages(staticImports('ai/index.ts'))).toEqual(['ai']);
    expect(packages(staticImports('openai-agents/index.ts'))).toEqual(['@openai/agents-core']);
  });
});

/**
 * After `npm install` in the repository, a script there imports the SDK by its package name:
 * the workspace links `node_modules/@countersign/sdk` to `sdk/`, whose `prepare` script (run by
 * `npm install` and `npm ci`) builds `sdk/dist`, where the package's exports point.
 */
describe('the SDK as a package of the workspace', () => {
  const ROOT = path.resolve(import.meta.dirname, '../..');
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'sdk/package.json'), 'utf8')) as {
    scripts: Record<string, string>;
    exports: Record<string, { types: string; import: string }>;
    bin: Record<string, string>;
  };

  it('is built on install by a prepare script', () => {
    expect(manifest.scripts.prepare).toBe(manifest.scripts.build);
  });

  it('has every file its exports and bin name', () => {
    const targets = [
      ...Object.values(manifest.exports).flatMap((entry) => [entry.types, entry.import]),
      ...Object.values(manifest.bin),
    ];
    const missing = targets.filter((target) => !existsSync(path.join(ROOT, 'sdk', target)));
    expect(missing).toEqual([]);
  });

  it('imports by its name from a script in the repository root', () => {
    const script = [
      "import { CountersignClient, verifyTrail } from '@countersign/sdk';",
      "import { runGateway } from '@countersign/sdk/mcp';",
      "const client = new CountersignClient({ baseUrl: 'http://127.0.0.1:9', apiKey: 'k' });",
      'console.log(typeof client.sendIntent, typeof verifyTrail, typeof runGateway);',
    ].join('\n');
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(output.trim()).toBe('function function function');
  });
});
