// LayerNorm over [1608, 384] (ViT-S, batch 8 at 224 px) and [1029, 1024] (ViT-L at 512 px):
// memory bound, ~3 passes over 2.5 MB / 4.2 MB per call.
import { layerNorm } from "./layer_norm.ts";
import { layerNormRef } from "./layer_norm_ref.ts";
import { randomTensor, testGpu } from "../_testing.ts";

const gpu = await testGpu();
for (const shape of [[1608, 384], [1029, 1024]]) {
  const C = shape[1];
  const x = randomTensor(shape, 1);
  const weight = randomTensor([C], 2);
  const bias = randomTensor([C], 3);
  const group = `layerNorm [${shape}]`;
  Deno.bench({ group, name: "layerNormRef (CPU)", baseline: true }, () => {
    layerNormRef(x, { weight, bias, eps: 1e-5 });
  });
  if (gpu) {
    const args = {
      x: gpu.uploadTensor(x),
      weight: gpu.uploadTensor(weight),
      bias: gpu.uploadTensor(bias),
      eps: 1e-5,
      out: {
        buffer: gpu.createStorageBuffer(x.data.byteLength, "out"),
        shape,
        dtype: "f32" as const,
      },
    };
    Deno.bench({ group, name: "layerNorm (WebGPU)" }, async () => {
      await layerNorm(gpu, args);
      await gpu.sync();
    });
  }
}
