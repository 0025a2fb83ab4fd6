/** Injection token of the process-wide pino logger. */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');
