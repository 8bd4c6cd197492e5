// A --plugin module for decode_pool_test.ts: a valid (unused) metric plugin
// whose module, loaded inside each decode worker, kills the worker when it
// sees a load request for sample 424242: it calls Deno.dlopen, which throws
// uncaught (NotCapable without --allow-ffi, else a missing library).

globalThis.addEventListener("message", (e: Event) => {
  const data = (e as MessageEvent).data;
  if (data?.type === "load" && data.index === 424242) {
    Deno.dlopen("libmedprobe-does-not-exist.so", {});
  }
});

/** Never used: it only makes this module a plugin module. */
export const dyingMetric = {
  kind: "metric",
  name: "dying-test-metric",
  description: "test only",
  higherIsBetter: true,
  tasks: ["binary"],
  compute: () => 0,
};
