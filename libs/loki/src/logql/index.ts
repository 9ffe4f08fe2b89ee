export * from './ast';
export * from './parse';
export * from './units';
export { compileLineFormat } from './line-format';
export type { LineTemplate } from './line-format';
export { compilePipeline } from './pipeline';
export type { PipelineEntry, PipelineResult } from './pipeline';
export { logqlRegex } from './regex';
