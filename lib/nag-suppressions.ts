import { Aspects, type IAspect, Stack, Validations } from 'aws-cdk-lib';
import { CfnPolicy } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import type { Countersign } from './countersign';

/**
 * Every cdk-nag AwsSolutions finding that Countersign keeps on purpose, each with its reason.
 * Acknowledgements use CDK's own `Validations.of(...).acknowledge()`, so this module needs no
 * cdk-nag at run time; an app that adds `new AwsSolutionsChecks(app)` as a validation plugin
 * (bin/countersign.ts does) sees them with their reasons in `cdk.out/validation-report.json`.
 * Anything not listed here fails the synthesis.
 */
export const NAG_REASONS = {
  secretRotation:
    'No rotation Lambda: the link-signing key must outlive the review links it signed (they expire with their intent), the webhook key is shared with agents out of band, and the bootstrap admin key is retired by turning `bootstrapAdminKey` off. docs/deploy.md describes manual rotation.',
  runtime:
    'Node.js 22 (LTS, supported by Lambda into 2027) is pinned on purpose: it is the runtime the handlers are tested on, locally and in CI. It moves in one place, lib/countersign-function.ts.',
  requestValidation:
    "Request bodies are validated in the handlers, which answer in the contract's error shape with one detail per field (400 validation_failed); an API Gateway validator would answer in its own shape first.",
  authorizer:
    'Authentication is in the handlers: API keys (hashed in DynamoDB, with roles, revocable) on /v1 and in each subscribe of the wait channel, signed expiring link tokens on /review, Slack request signatures on /slack; /healthz is public by design. A Cognito or Lambda authorizer would add a second, weaker source of truth.',
  waf: 'Stage throttling and per-request authentication cover the public surface at no fixed cost; attach a WAFv2 web ACL to the stage if your organisation requires one (docs/deploy.md).',
  executionLogging:
    'JSON access logs (request id, status, latency) are on. Execution logging needs the account-wide API Gateway CloudWatch role (not something an embedded construct should change) and would log request data; the handlers log structured lines with the same request id instead.',
  tableIndexes:
    "The wildcard is the table's own indexes (`<table>/index/*`): listing by agent and by status queries GSI1 and GSI2 of this table only.",
  functionVersions:
    'The state machine invokes its own functions; `<function>:*` covers their versions and aliases, as the Step Functions Lambda integration requires.',
  executions:
    'DescribeExecution on executions of this state machine only (`execution:<machine>:*`): the reconciler looks up executions by name.',
  emailIdentities:
    "SendEmail on this account's SES identities in this region (`identity/*`), with the sender pinned by the `ses:FromAddress` condition: while the account is in the SES sandbox, SES also authorizes each verified recipient's identity.",
  connections:
    "ManageConnections on the wait channel's own connections (`<api>/*/*/@connections/*`): connection ids are API Gateway's, known only when a client subscribes.",
  tracingAndLogDelivery:
    'X-Ray segments and CloudWatch Logs delivery for the state machine: these actions do not support resource-level permissions, so AWS requires `*`.',
} as const;

/** Registers the acknowledgements on a Countersign construct (called by its constructor). */
export function addNagSuppressions(countersign: Countersign): void {
  const acknowledge = (scope: IConstruct, id: string, reason: string) =>
    Validations.of(scope).acknowledge({ id, reason });

  for (const secret of [
    countersign.linkSigningSecret,
    countersign.webhookSigningSecret,
    countersign.bootstrapAdminKeySecret,
  ]) {
    acknowledge(secret, 'AwsSolutions-SMG4', NAG_REASONS.secretRotation);
  }
  for (const fn of Object.values(countersign.functions)) {
    acknowledge(fn, 'AwsSolutions-L1', NAG_REASONS.runtime);
  }
  acknowledge(countersign.api, 'AwsSolutions-APIG2', NAG_REASONS.requestValidation);
  acknowledge(countersign.api, 'AwsSolutions-APIG3', NAG_REASONS.waf);
  acknowledge(countersign.api, 'AwsSolutions-APIG6', NAG_REASONS.executionLogging);
  for (const method of countersign.api.methods) {
    acknowledge(method, 'AwsSolutions-APIG4', NAG_REASONS.authorizer);
    acknowledge(method, 'AwsSolutions-COG4', NAG_REASONS.authorizer);
  }
  Aspects.of(countersign).add(new JustifiedWildcards());
}

/**
 * IAM wildcards are acknowledged one by one, by what they grant: a wildcard that matches none
 * of the known, justified shapes below stays a finding and fails the synthesis. Runs as an
 * aspect because the finding ids name resolved references, known only once the tree is built.
 */
class JustifiedWildcards implements IAspect {
  visit(node: IConstruct): void {
    if (!(node instanceof CfnPolicy)) return;
    const stack = Stack.of(node);
    const document = stack.resolve(node.policyDocument) as { Statement?: Statement[] };
    for (const statement of document.Statement ?? []) {
      if (statement.Effect !== 'Allow') continue;
      const actions = toArray(statement.Action).map(String);
      for (const resource of toArray(statement.Resource).map(flattenReference)) {
        if (!resource.includes('*')) continue;
        const reason = wildcardReason(actions, resource);
        if (reason) {
          Validations.of(node).acknowledge({
            id: `AwsSolutions-IAM5[Resource::${resource}]`,
            reason,
          });
        }
      }
    }
  }
}

interface Statement {
  Effect: string;
  Action: unknown;
  Resource: unknown;
}

function wildcardReason(actions: string[], resource: string): string | undefined {
  const only = (prefix: string) => actions.every((action) => action.startsWith(prefix));
  if (only('dynamodb:') && resource.endsWith('/index/*')) return NAG_REASONS.tableIndexes;
  if (only('lambda:InvokeFunction') && /^<[A-Za-z0-9]+\.Arn>:\*$/.test(resource)) {
    return NAG_REASONS.functionVersions;
  }
  if (only('ses:SendEmail') && /:ses:.*:identity\/\*$/.test(resource)) {
    return NAG_REASONS.emailIdentities;
  }
  if (only('states:DescribeExecution') && /:states:.*:execution:.*:\*$/.test(resource)) {
    return NAG_REASONS.executions;
  }
  if (only('execute-api:ManageConnections') && resource.endsWith('/@connections/*')) {
    return NAG_REASONS.connections;
  }
  if (
    resource === '*' &&
    actions.every(
      (action) => action.startsWith('xray:') || /^logs:.*(Deliver|Resource)/.test(action),
    )
  ) {
    return NAG_REASONS.tracingAndLogDelivery;
  }
  return undefined;
}

function toArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

/** The flat form cdk-nag gives a resolved reference in its finding ids. */
function flattenReference(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (node && typeof node === 'object') {
    const value = node as Record<string, unknown>;
    if (Array.isArray(value['Fn::Join'])) {
      const [delimiter, items] = value['Fn::Join'] as [string, unknown[]];
      return items.map(flattenReference).join(delimiter);
    }
    if (value['Fn::Sub'] !== undefined) return flattenReference(value['Fn::Sub']);
    if (Array.isArray(value['Fn::GetAtt'])) {
      const [resource, attribute] = value['Fn::GetAtt'] as [unknown, unknown];
      return `<${flattenReference(resource)}.${flattenReference(attribute)}>`;
    }
    if (value['Fn::ImportValue'] !== undefined) return flattenReference(value['Fn::ImportValue']);
    if (value.Ref !== undefined) return `<${flattenReference(value.Ref)}>`;
  }
  return JSON.stringify(node);
}
