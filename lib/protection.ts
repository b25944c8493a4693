import { Duration, Stack } from 'aws-cdk-lib';
import type { MethodDeploymentOptions, RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  ComparisonOperator,
  MathExpression,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { CfnFunction, IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { FUNCTIONS, type FunctionKey } from '../lambdas/functions';
import type { CountersignFunction } from './countersign-function';

/**
 * What keeps one busy caller from taking the service down (docs/deploy.md, "Limits and what
 * happens at each"): API Gateway throttles each class of traffic separately (anonymous pages,
 * agents, reviewers' decisions, Slack, long polls), each method with its own bucket, and answers
 * 429 `rate_limited` with `Retry-After`; the long poll runs in a function of its own with reserved
 * concurrency, and its method's throttle keeps it under that reservation, so waiting agents can
 * neither starve the other functions nor meet Lambda's own throttle (a 5xx); an optional AWS WAF
 * web ACL blocks an address that sends too much, before any of it reaches a function.
 */

export interface Throttle {
  /** Steady requests per second, per method. */
  readonly rateLimit: number;
  /** Burst above the steady rate, per method. */
  readonly burstLimit: number;
}

/** The classes of traffic throttled apart, by route. */
export type TrafficClass = 'anonymous' | 'agent' | 'reviewer' | 'slack' | 'waiting';

export interface RouteThrottling {
  /** `/healthz`, JWKS, the OpenAPI document and the review page (its link is its key). @default 10/s, burst 20 */
  readonly anonymous?: Throttle;
  /** Creating, reading and cancelling intents, the MCP server. @default 50/s, burst 100 */
  readonly agent?: Throttle;
  /** Decisions through the API, the reviewer inbox. @default 20/s, burst 40 */
  readonly reviewer?: Throttle;
  /** Slack's interactivity requests (Slack allows 3 s). @default 20/s, burst 40 */
  readonly slack?: Throttle;
}

export const DEFAULT_THROTTLES: Record<Exclude<TrafficClass, 'waiting'>, Throttle> = {
  anonymous: { rateLimit: 10, burstLimit: 20 },
  agent: { rateLimit: 50, burstLimit: 100 },
  reviewer: { rateLimit: 20, burstLimit: 40 },
  slack: { rateLimit: 20, burstLimit: 40 },
};

/** Long polls hold up to 25 s each: the rate that keeps them within `concurrency`. */
const LONG_POLL_SECONDS = 25;
export const DEFAULT_WAIT_CONCURRENCY = 50;

/** The class of a route; routes not listed (the admin API) keep the stage's own throttle. */
export function trafficClass(
  key: FunctionKey,
  method: string,
  path: string,
): TrafficClass | undefined {
  if (key === 'intentsWait') return 'waiting';
  if (key === 'slackInteractions') return 'slack';
  if (key === 'health' || key === 'jwks' || key === 'openapi' || key === 'review') {
    return 'anonymous';
  }
  if (key === 'intentsDecide') return path.endsWith('/decision') ? 'reviewer' : 'agent';
  if (key === 'inbox') return 'reviewer';
  if (key === 'intentsWrite' || key === 'intentsRead' || key === 'mcp') return 'agent';
  void method;
  return undefined;
}

/** The throttle of the long poll: within the wait function's reserved concurrency. */
export function waitThrottle(concurrency: number): Throttle {
  return {
    rateLimit: Math.max(1, Math.floor(concurrency / LONG_POLL_SECONDS)),
    burstLimit: Math.max(1, Math.floor(concurrency / 2)),
  };
}

/** API Gateway's per-method settings (`<path>/<METHOD>`) for every classified route. */
export function methodThrottles(
  throttling: RouteThrottling,
  waitConcurrency: number,
): Record<string, MethodDeploymentOptions> {
  const throttles: Record<TrafficClass, Throttle> = {
    ...DEFAULT_THROTTLES,
    ...throttling,
    waiting: waitThrottle(waitConcurrency),
  };
  const options: Record<string, MethodDeploymentOptions> = {};
  for (const key of Object.keys(FUNCTIONS) as FunctionKey[]) {
    for (const route of FUNCTIONS[key].routes) {
      const kind = trafficClass(key, route.method, route.path);
      if (!kind) continue;
      const { rateLimit, burstLimit } = throttles[kind];
      options[`${route.path}/${route.method}`] = {
        throttlingRateLimit: rateLimit,
        throttlingBurstLimit: burstLimit,
      };
    }
  }
  return options;
}

export interface WebAclOptions {
  /**
   * Requests one client address may send in any five minutes before WAF blocks it (429).
   * @default 2000
   */
  readonly rateLimitPerFiveMinutes?: number;
}

export interface ProtectionProps {
  readonly api: RestApi;
  readonly waitFunction: IFunction;
  readonly waitConcurrency: number;
  /** Functions whose throttles raise the alarm (Lambda throttling them means a 5xx somewhere). */
  readonly functions: CountersignFunction[];
  readonly webAcl?: WebAclOptions;
  readonly alarmTopic?: ITopic;
}

export class Protection extends Construct {
  readonly alarms: Alarm[] = [];
  readonly webAcl: CfnWebACL | undefined;

  constructor(scope: Construct, id: string, props: ProtectionProps) {
    super(scope, id);
    (props.waitFunction.node.defaultChild as CfnFunction).reservedConcurrentExecutions =
      props.waitConcurrency;

    // Lambda throttling any function: the reservation or the account's concurrency is exhausted.
    // At most 10 metrics per alarm's expression, so one alarm per ten functions.
    for (let start = 0; start < props.functions.length; start += 10) {
      const chunk = props.functions.slice(start, start + 10);
      const usingMetrics = Object.fromEntries(
        chunk.map((fn, index) => [`t${index}`, fn.lambda.metricThrottles({ statistic: 'Sum' })]),
      );
      this.alarms.push(
        new Alarm(this, `FunctionsThrottled${start / 10 + 1}`, {
          alarmDescription: `Countersign: Lambda throttled ${chunk.map((fn) => fn.node.id).join(', ')}`,
          metric: new MathExpression({
            expression: Object.keys(usingMetrics).join(' + '),
            usingMetrics,
            period: Duration.minutes(5),
          }),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    // API Gateway answering 4xx in bulk: throttling (429) shows here, beside refused keys.
    this.alarms.push(
      new Alarm(this, 'ApiClientErrors', {
        alarmDescription:
          'Countersign: the API answered more than 500 4xx in five minutes (throttling, refused keys)',
        metric: props.api.metricClientError({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 500,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );

    if (props.webAcl) {
      const limit = props.webAcl.rateLimitPerFiveMinutes ?? 2000;
      const metric = (name: string) => ({
        cloudWatchMetricsEnabled: true,
        metricName: name,
        sampledRequestsEnabled: true,
      });
      this.webAcl = new CfnWebACL(this, 'WebAcl', {
        scope: 'REGIONAL',
        defaultAction: { allow: {} },
        visibilityConfig: metric('countersign-api'),
        customResponseBodies: {
          rateLimited: {
            contentType: 'APPLICATION_JSON',
            content: JSON.stringify({
              error: {
                code: 'rate_limited',
                message: 'Too many requests; retry with backoff.',
                details: [],
              },
            }),
          },
        },
        rules: [
          {
            name: 'rate-per-address',
            priority: 0,
            statement: { rateBasedStatement: { limit, aggregateKeyType: 'IP' } },
            action: {
              block: {
                customResponse: {
                  responseCode: 429,
                  customResponseBodyKey: 'rateLimited',
                  responseHeaders: [{ name: 'Retry-After', value: '60' }],
                },
              },
            },
            visibilityConfig: metric('countersign-rate-per-address'),
          },
        ],
      });
      const stack = Stack.of(this);
      new CfnWebACLAssociation(this, 'WebAclAssociation', {
        webAclArn: this.webAcl.attrArn,
        resourceArn: `arn:${stack.partition}:apigateway:${stack.region}::/restapis/${props.api.restApiId}/stages/${props.api.deploymentStage.stageName}`,
      });
    }

    if (props.alarmTopic) {
      const action = new SnsAction(props.alarmTopic);
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }
}
