export * from './durations';
export * from './levels';
export * from './line';
export * from './message-formats';
export * from './timestamps';
export * from './text-match';
export * from './terminal-text';
export * from './user-regex';
