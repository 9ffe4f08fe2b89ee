export * from './container-record';
export * from './cri-time';
export * from './message-shape';
export * from './piece-joiner';
export * from './stack-trace-joiner';
export * from './container-log-decoder';
export * from './node-agent';
export * from './pod-log-files';
