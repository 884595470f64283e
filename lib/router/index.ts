export { aiProxyRouter, type AiProxyRouterOptions, type AiProxyRouterRoute } from './ai-proxy-router';
