export * from './daylog-lines';
export * from './push-request';
export * from './stream-labels';
export * from './push-limits';
export * from './logql';
