export * from './ast';
export * from './parse';
export * from './units';
