export * from './config-error';
export * from './daylog-config';
export { ENV_DEFAULTS } from './environment-variables';
export * from './load-config';
export * from './shipper-config';
export * from './tokens';
