export { z } from 'zod';
export { Secret } from './secret';
export { env, baseConfigShape, LOG_LEVELS } from './fields';
export { loadConfig, loadConfigOrExit, ConfigError, type ConfigIssue } from './load-config';
