export * from './container-record';
export * from './message-shape';
export * from './piece-joiner';
export * from './stack-trace-joiner';
