#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CountersignStack, settingsFromContext } from '../lib/countersign-stack';

/**
 * `npx cdk deploy`: one Countersign stack in the account and region of your credentials,
 * configured with `-c name=value` (or cdk.json's context, or COUNTERSIGN_* environment
 * variables; see docs/deploy.md). cdk-nag's AwsSolutions checks run on every synthesis: a
 * finding without a written reason (lib/nag-suppressions.ts) stops it.
 */
const app = new App();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
new CountersignStack(
  app,
  app.node.tryGetContext('stackName') ?? process.env.COUNTERSIGN_STACK_NAME ?? 'Countersign',
  {
    ...settingsFromContext(app.node),
    description: 'Countersign: human approval for AI agents',
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  },
);
