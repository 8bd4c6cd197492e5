// onnxruntime-node's telemetry stays off: under strace, a session created
// through loadOnnxRuntime() writes no telemetry database, no
// /tmp/mat-debug-<pid>.log and makes no DNS query, while the same session
// from the addon imported directly (the control) does write them, so the
// check can fail. Skipped when strace is not installed.
import assert from "node:assert/strict";

const PROBE = new URL("./testdata/telemetry_probe.ts", import.meta.url).pathname;

function hasStrace(): boolean {
  try {
    return new Deno.Command("strace", { args: ["-V"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

async function traceProbe(mode: string): Promise<{ log: string; home: string[] }> {
  const home = await Deno.makeTempDir({ prefix: "medprobe_telemetry_home_" });
  const log = `${home}.strace`;
  try {
    const env: Record<string, string> = { ...Deno.env.toObject(), HOME: home };
    delete env.ORT_DISABLE_TELEMETRY;
    delete env.XDG_CACHE_HOME;
    // onnxruntime's telemetry client stays quiet under CI=true (as CI sets
    // it), which would make the control run silent: probe as a user's shell.
    delete env.CI;
    env.DENO_DIR = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
    const out = await new Deno.Command("strace", {
      args: [
        "-f",
        "-qq",
        "-e",
        "trace=openat,mkdir,connect",
        "-o",
        log,
        Deno.execPath(),
        "run",
        "-A",
        "--quiet",
        PROBE,
        mode,
      ],
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const files: string[] = [];
    for await (const e of walk(home)) files.push(e);
    return { log: await Deno.readTextFile(log), home: files };
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
    await Deno.remove(log).catch(() => {});
  }
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) yield* walk(p);
    else yield p;
  }
}

function telemetryTraces(log: string, home: string[]): string[] {
  const lines = log.split("\n").filter((l) =>
    !l.includes("ENOENT") &&
    (/mat-debug-\d+\.log|onnxruntime\.db|DeveloperTools/.test(l) || /htons\(53\)/.test(l))
  );
  return [...lines, ...home.filter((f) => f.includes("Microsoft"))];
}

Deno.test({
  name:
    "loadOnnxRuntime() keeps onnxruntime telemetry off: no database, no /tmp log, no DNS (strace)",
  ignore: !hasStrace(),
  async fn() {
    const control = await traceProbe("raw");
    assert.ok(
      telemetryTraces(control.log, control.home).length > 0,
      "the control run (telemetry on) should leave a trace, else this test cannot fail",
    );
    const run = await traceProbe("medprobe");
    assert.deepEqual(telemetryTraces(run.log, run.home), []);
  },
});
