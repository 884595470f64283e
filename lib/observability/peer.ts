/**
 * Loads an optional peer dependency at the moment an integration is switched on (never at import
 * time, so apps without it pay nothing), with an error that says what to install.
 */
export function loadPeer<T>(name: string, usedBy: string): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a deliberate lazy load of an optional peer, only when its integration is switched on
    return require(name) as T;
  } catch (err) {
    if ((err as { code?: string }).code === 'MODULE_NOT_FOUND') {
      throw new Error(`${usedBy} needs the optional peer dependency "${name}": npm install ${name}`, { cause: err });
    }
    throw err;
  }
}
