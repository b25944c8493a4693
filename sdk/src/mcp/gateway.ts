/**
 * The approval gateway: in front of any MCP server, tool calls that match a rule become
 * Countersign intents (the arguments are the payload) and reach the upstream only once a person
 * approved them, with the arguments as approved. A rejection, a timeout or a cancellation is a
 * tool error whose text carries the reviewer's reason; the upstream never sees that call. Calls
 * no rule matches pass straight through. The wait survives the Countersign API restarting (the
 * SDK's `waitFor` retries through it); the upstream gets each approved call exactly once.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { CountersignClient } from '../client.js';
import { isCountersignError, WaitTimeoutError } from '../errors.js';
import type { CreateIntentRequest, Intent, JsonObject } from '../types.js';
import { type GatewayConfig, type GatewayRule, matchingRule } from './gateway-config.js';
import type { CallInterceptor } from './proxy.js';

export const GATEWAY_INTENT_TYPE = 'intent.mcp.tool_call.v1';
const SUMMARY_LIMIT = 300;

export function approvalInterceptor(
  config: GatewayConfig,
  countersign: CountersignClient,
): CallInterceptor {
  return async (call, signal, forward) => {
    const args = (call.arguments ?? {}) as JsonObject;
    const rule = matchingRule(config.rules, call.name, args);
    if (!rule) return forward(call);

    let intent: Intent;
    try {
      intent = await countersign.createIntent(intentRequest(config, rule, call.name, args), {
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw error;
      return refused(
        `${call.name} needs approval, but Countersign did not take the request: ${reason(error)}. The call was not run.`,
      );
    }

    const waitSeconds = rule.wait_timeout_seconds ?? config.waitTimeoutSeconds;
    let decided: Intent;
    try {
      decided = await countersign.waitFor(intent.id, { signal, timeoutMs: waitSeconds * 1000 });
    } catch (error) {
      const why = signal.aborted
        ? 'The MCP client cancelled the call.'
        : error instanceof WaitTimeoutError
          ? `Nobody decided within ${waitSeconds} s; the gateway stopped waiting.`
          : `The gateway lost track of the request: ${reason(error)}.`;
      // Withdrawn, so that a late approval does not look like one anybody acts on.
      await countersign.cancel(intent.id, why).catch(() => undefined);
      if (signal.aborted) throw error;
      return refused(`${call.name} was not approved (${intent.id}): ${why} The call was not run.`);
    }

    if (approved(decided)) {
      return forward({ ...call, arguments: decided.approved_payload ?? args });
    }
    return refused(refusalText(call.name, decided));
  };
}

function intentRequest(
  config: GatewayConfig,
  rule: GatewayRule,
  tool: string,
  args: JsonObject,
): CreateIntentRequest {
  const request: CreateIntentRequest = {
    intent_type: rule.intent_type ?? GATEWAY_INTENT_TYPE,
    to_agent: config.agent,
    summary: summaryOf(rule, tool, args),
    payload: args,
  };
  if (rule.reviewers) request.reviewers = rule.reviewers;
  if (rule.policy) request.policy = rule.policy as CreateIntentRequest['policy'];
  if (rule.editable) request.editable = rule.editable;
  return request;
}

const shorten = (text: string, limit: number) =>
  text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;

const show = (value: unknown) =>
  shorten(typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null'), 80);

/** The rule's template (`{tool}`, `{<argument>}`), else `Call <tool>: a="…", b=2`. */
export function summaryOf(rule: GatewayRule, tool: string, args: JsonObject): string {
  const text = rule.summary
    ? rule.summary.replace(/\{([A-Za-z0-9_.-]+)\}/g, (whole, name: string) =>
        name === 'tool' ? tool : Object.hasOwn(args, name) ? show(args[name]) : whole,
      )
    : `Call ${tool}${Object.keys(args).length === 0 ? '' : ': '}${Object.entries(args)
        .map(
          ([name, value]) =>
            `${name}=${typeof value === 'string' ? JSON.stringify(show(value)) : show(value)}`,
        )
        .join(', ')}`;
  return shorten(text.replace(/\s+/g, ' ').trim(), SUMMARY_LIMIT);
}

function approved(intent: Intent): boolean {
  return (
    intent.status === 'approved' ||
    (intent.status === 'timed_out' && intent.decision?.outcome === 'approved')
  );
}

function refusalText(tool: string, intent: Intent): string {
  const decision = intent.decision;
  const comment = decision?.comment ? `: "${decision.comment}"` : ' (no reason given)';
  switch (intent.status) {
    case 'rejected':
      return `${tool} was REJECTED by ${decision?.by ?? 'a reviewer'}${comment}. The call was not run (${intent.id}).`;
    case 'timed_out':
      return `${tool} was not approved in time: the request timed out, which counts as a rejection. The call was not run (${intent.id}).`;
    default:
      return `${tool} was not approved: the request was ${intent.status} by ${decision?.by ?? 'someone'}${comment}. The call was not run (${intent.id}).`;
  }
}

function refused(text: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text }] };
}

function reason(error: unknown): string {
  if (isCountersignError(error)) return `${error.message} [${error.code}]`;
  return error instanceof Error ? error.message : String(error);
}
