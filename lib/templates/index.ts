export { compileTemplates, type ResolvedTemplates, type RouteTemplates, type TemplateSource } from './templates';
