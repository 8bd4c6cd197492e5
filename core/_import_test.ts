import assert from "node:assert/strict";
import { importWithTimeout } from "./_import.ts";

Deno.test("importWithTimeout() gives up on a server that accepts and never answers", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) held.push(conn); // never answers
    } catch { /* closed */ }
  })();
  const { port } = listener.addr as Deno.NetAddr;
  const started = performance.now();
  try {
    await assert.rejects(
      () => importWithTimeout(`http://127.0.0.1:${port}/plugin.ts`, 500),
      (e: unknown) =>
        e instanceof TypeError && /must load within 500 ms/.test(e.message) &&
        e.message.includes(`127.0.0.1:${port}/plugin.ts`),
    );
    assert.ok(performance.now() - started < 5000);
  } finally {
    listener.close();
    for (const c of held) c.close();
    await accepting;
  }
});

Deno.test("importWithTimeout() imports a local module as usual", async () => {
  const mod = await importWithTimeout(new URL("./errors.ts", import.meta.url).href, 10_000);
  assert.equal(typeof mod.FormatError, "function");
});
