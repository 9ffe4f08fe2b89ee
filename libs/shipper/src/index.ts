export * from './aggregator-client';
export * from './checkpoint-store';
export * from './delivery-health';
export * from './line-parsers';
export * from './line-splitter';
export * from './log-event';
export * from './shipper';
export * from './shipper-metrics';
