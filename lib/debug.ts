import createDebug from 'debug';

/** The only logger: `DEBUG=express-ai-proxy:*`. Never pass headers, secrets or payloads to it. */
export const log = createDebug('express-ai-proxy');
export const logStats = log.extend('stats');
