/**
 * Dynamic import with a time limit, for plugin modules given as URLs
 * (`--plugin https://…`): a server that accepts the connection and never
 * answers must not hang a run. For `http:`/`https:` specifiers the module is
 * first fetched with a deadline (connect + read, with the reason in the
 * message), then imported under the same deadline; other specifiers (files,
 * `jsr:`, `npm:`) are imported under the deadline only. Private to `core`.
 *
 * @module
 */

/** Default deadline of {@linkcode importWithTimeout}: 30 s. */
export const PLUGIN_IMPORT_TIMEOUT_MS = 30_000;

/**
 * Imports `url`, rejecting with a `TypeError` naming the URL and the
 * deadline when fetching or evaluating it takes longer than `timeoutMs`.
 * Uses `fetch` (net permission) for http(s) URLs.
 */
export async function importWithTimeout(
  url: string,
  timeoutMs: number = PLUGIN_IMPORT_TIMEOUT_MS,
): Promise<Record<string, unknown>> {
  const started = Date.now();
  const overdue = () =>
    new TypeError(
      `Cannot load plugin module "${url}" as it must load within ${timeoutMs} ms (connect and read timeout): the server did not answer in time`,
    );
  if (/^https?:/.test(url)) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      await response.arrayBuffer();
      if (!response.ok) {
        throw new TypeError(
          `Cannot load plugin module "${url}" as the server must answer 200: current status is ${response.status}`,
        );
      }
    } catch (error) {
      if (error instanceof DOMException && error.name === "TimeoutError") throw overdue();
      throw error;
    }
  }
  const left = Math.max(1, timeoutMs - (Date.now() - started));
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      import(url) as Promise<Record<string, unknown>>,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(overdue()), left);
        Deno.unrefTimer(timer as unknown as number);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
