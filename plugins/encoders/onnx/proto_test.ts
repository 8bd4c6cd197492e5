import assert from "node:assert/strict";
import { decodeModel, encodePlan, GraphBuilder, onnx, planModel, writePlan } from "./proto.ts";

function tinyGraph(): { g: GraphBuilder; w: Float32Array; b: Float32Array } {
  const g = new GraphBuilder();
  const w = Float32Array.from({ length: 6 }, (_, i) => i * 0.5 - 1);
  const b = Float32Array.from([0.25, -0.75, 3]);
  g.input("x", ["batch", 2]);
  const wn = g.weight("w", [2, 3], () => w);
  const bn = g.weight("b", [3], async () => await Promise.resolve(b));
  const y = g.op("Add", [g.op("MatMul", ["x", wn]), bn]);
  g.op("Mul", [y, g.constF32([2], [])], {}, "y");
  g.output("y", ["batch", 3]);
  return { g, w, b };
}

Deno.test("planModel()/encodePlan() stream a model that decodes like a one-shot protobufjs encode", async () => {
  const { g, w, b } = tinyGraph();
  const plan = planModel(g, { name: "tiny", metadata: { k: "v" } });
  const streamed = await encodePlan(plan);
  assert.equal(streamed.byteLength, plan.totalBytes);

  // The same model with every initializer inline, encoded in one call.
  const whole = onnx.ModelProto.encode({
    irVersion: 8,
    producerName: "medprobe",
    producerVersion: "0.1.0",
    opsetImport: [{ domain: "", version: 17 }],
    metadataProps: [{ key: "k", value: "v" }],
    graph: {
      name: "tiny",
      node: g.nodes,
      initializer: [
        ...g.constants,
        { name: "w", dims: [2, 3], dataType: 1, rawData: new Uint8Array(w.buffer) },
        { name: "b", dims: [3], dataType: 1, rawData: new Uint8Array(b.buffer) },
      ],
      input: g.inputs,
      output: g.outputs,
    },
  }).finish();
  const opts = { longs: Number, bytes: Array, defaults: false };
  assert.deepEqual(
    onnx.ModelProto.toObject(decodeModel(streamed), opts),
    onnx.ModelProto.toObject(decodeModel(whole), opts),
  );
  assert.equal(streamed.byteLength, whole.byteLength);
});

Deno.test("writePlan() produces weights one at a time, in order, and checks their length", async () => {
  const order: string[] = [];
  const g = new GraphBuilder();
  g.input("x", [2]);
  const a = g.weight("a", [2], () => (order.push("a"), new Float32Array(2)));
  const c = g.weight("c", [2], () => (order.push("c"), new Float32Array(3)));
  g.op("Add", [g.op("Add", ["x", a]), c], {}, "y");
  g.output("y", [2]);
  const chunks: number[] = [];
  await assert.rejects(
    writePlan(planModel(g, { name: "bad" }), (chunk) => {
      chunks.push(chunk.byteLength);
    }),
    /initializer "c" as it must have 2 values: current count is 3/,
  );
  assert.deepEqual(order, ["a", "c"]);
});

Deno.test("GraphBuilder refuses duplicate value names and non-integer INT attributes", () => {
  const g = new GraphBuilder();
  g.input("x", [1]);
  assert.throws(() => g.input("x", [1]), /name is taken/);
  assert.throws(() => g.op("Relu", ["x"], { axis: 0.5 }), /as an integer/);
  const k = g.constI64([1, 2]);
  assert.notEqual(g.constI64([3]), k);
});
