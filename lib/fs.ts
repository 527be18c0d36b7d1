/** Small file-system questions the stack and its tests ask. */

/** True when something (file, directory, socket) exists at `path`. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
