export { KongRoutes, kongRoutes, type KongRoute, type KongRoutesMiddleware } from './kong-routes';
export { loadRoutes, readRoutesFile } from './load-routes';
export { parseKongRoutes, type KongRouteSpec, type KongRoutesDocument } from './spec';
