export * from './container-record';
export * from './message-shape';
export * from './piece-joiner';
