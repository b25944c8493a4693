import { authenticate } from '../core/auth';
import { intentServiceDeps, keyRepository } from '../shared/deps';
import { header, requestLogger, routeHandler } from '../shared/http';
import { approvalMcpServer, serveMcp } from '../shared/mcp';

/**
 * /mcp: the approval tools for any MCP client (Streamable HTTP, stateless), with the same
 * Bearer keys as the rest of the API. A missing or unknown key is the API's 401.
 */
const serve = async (event: Parameters<typeof serveMcp>[0]) => {
  const principal = await authenticate(header(event, 'authorization'), keyRepository());
  return serveMcp(event, approvalMcpServer(intentServiceDeps(), principal, requestLogger(event)));
};

export const handler = routeHandler({
  'POST /mcp': serve,
  'GET /mcp': serve,
  'DELETE /mcp': serve,
});
