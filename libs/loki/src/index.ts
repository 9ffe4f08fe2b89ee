export * from './daylog-lines';
export * from './push-request';
export * from './stream-labels';
export * from './push-limits';
export * from './logql';
export * from './query/loki-query-api';
export { LokiBadRequest, RawParams } from './query/query-params';
