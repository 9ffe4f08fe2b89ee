export * from './container-record';
export * from './piece-joiner';
