import { readFileSync } from 'node:fs';
import { AiProxyConfigError } from '../errors';
import { asMiddleware, KongRoutes, type KongRoutesMiddleware } from './kong-routes';

interface YamlModule {
  parse(text: string): unknown;
}

/** `yaml` is an optional peer dependency: loaded only when a YAML file is read. */
function loadYaml(): YamlModule {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional peer, loaded only when a YAML file is read (a static import would make it required)
    return require('yaml') as YamlModule;
  } catch {
    throw new AiProxyConfigError([
      {
        path: 'file',
        message: 'reading a YAML routes file needs the optional peer dependency "yaml": npm install yaml (or give a .json file or a spec object)',
      },
    ]);
  }
}

/** Parses a routes file: JSON for `.json`, YAML (with the optional `yaml` package) otherwise. */
export function readRoutesFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AiProxyConfigError([
      { path: 'file', message: `cannot read the routes file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` },
    ]);
  }
  try {
    return file.endsWith('.json') ? JSON.parse(text) : loadYaml().parse(text);
  } catch (err) {
    if (err instanceof AiProxyConfigError) throw err;
    throw new AiProxyConfigError([
      { path: 'file', message: `${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}` },
    ]);
  }
}

/**
 * Kong-style routes from a file in the Kong docs' shape (`name`, `paths` with `~` regexes,
 * `methods`, `plugins: [{name: ai-proxy, config}]`), or from a spec object. Every problem is
 * reported at once, named by route and field. Mount the result: `app.use(loadRoutes('routes.yaml'))`.
 */
export function loadRoutes(fileOrSpec: string | object): KongRoutesMiddleware {
  return asMiddleware(new KongRoutes(typeof fileOrSpec === 'string' ? readRoutesFile(fileOrSpec) : fileOrSpec));
}
