import { readFileSync } from 'node:fs';
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
