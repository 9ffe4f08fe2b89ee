export * from './aggregator-client';
export * from './checkpoint-store';
export * from './line-parsers';
export * from './line-splitter';
export * from './shipper';
export * from './shipper-metrics';
