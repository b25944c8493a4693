import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Countersign, type CountersignProps } from './countersign';

export interface CountersignStackProps extends StackProps, CountersignProps {}

/** The stack `cdk deploy` creates: one Countersign and its outputs. */
export class CountersignStack extends Stack {
  readonly countersign: Countersign;

  constructor(scope: Construct, id: string, props: CountersignStackProps = {}) {
    super(scope, id, props);
    this.countersign = new Countersign(this, 'Countersign', props);
    new CfnOutput(this, 'ApiUrl', { value: this.countersign.apiUrl });
    new CfnOutput(this, 'TableName', { value: this.countersign.table.tableName });
    new CfnOutput(this, 'StateMachineArn', {
      value: this.countersign.stateMachine.stateMachineArn,
    });
  }
}
