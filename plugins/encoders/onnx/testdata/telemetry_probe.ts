// Child process of runtime_telemetry_test.ts: creates and runs one session
// of the toy CNN with onnxruntime-node, either through loadOnnxRuntime()
// ("medprobe") or by importing the addon directly ("raw", the control).
import { toyCnn } from "../_testing.ts";
import { loadOnnxRuntime } from "../runtime.ts";

const mode = Deno.args[0];
// deno-lint-ignore no-explicit-any
const ort: any = mode === "raw"
  ? await import("onnxruntime-node")
  : (await loadOnnxRuntime("node")).ort;
const { bytes } = await toyCnn({ size: 32 });
const session = await ort.InferenceSession.create(bytes);
const input = new ort.Tensor("float32", new Float32Array(3 * 32 * 32), [1, 3, 32, 32]);
await session.run({ input });
await session.release();
