export * from './approval-workflow';
export * from './countersign';
export * from './countersign-function';
export * from './countersign-stack';
export * from './nag-suppressions';
export * from './operations';
