#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { CountersignStack } from '../lib/countersign-stack';

const app = new App();
new CountersignStack(app, 'Countersign', {
  emailFrom: app.node.tryGetContext('emailFrom') ?? process.env.COUNTERSIGN_EMAIL_FROM,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
