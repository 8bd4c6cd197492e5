import assert from "node:assert/strict";
import { Command } from "commander";
import { imagesToBatch } from "../core/image.ts";
import { parseSafetensors } from "../core/safetensors.ts";
import { gpuTest, maxAbsDiff } from "../kernels/_testing.ts";
import { createDinov3WebGpuEncoder } from "../plugins/encoders/dinov3/mod.ts";
import { encodePng, parsePng, writeNifti } from "../plugins/formats/mod.ts";
import {
  composePcaFigure,
  readEncoderImage,
  registerEncodeCommands,
  stackFigureRows,
  writePcaFigure,
} from "./encode.ts";

const FIXTURE = new URL("../fixtures/dinov3/tiny-public", import.meta.url).pathname;

function program(): Command {
  const p = new Command("medprobe").exitOverride();
  registerEncodeCommands(p);
  return p;
}

async function writeImages(dir: string): Promise<string[]> {
  const rgb = new Uint8Array(40 * 56 * 3).map((_, i) => (i * 7) % 251);
  const grey = new Uint8Array(70 * 50).map((_, i) => (i * 13) % 241);
  const a = `${dir}/a.png`;
  const b = `${dir}/b.png`;
  await Deno.writeFile(a, encodePng({ data: rgb, width: 56, height: 40, channels: 3 }));
  await Deno.writeFile(b, encodePng({ data: grey, width: 50, height: 70, channels: 1 }));
  return [a, b];
}

gpuTest(
  "medprobe encode writes one row per image, in order, equal to the encoder's",
  async (gpu) => {
    const dir = await Deno.makeTempDir({ prefix: "medprobe-encode-" });
    try {
      const [a, b] = await writeImages(dir);
      const out = `${dir}/features.safetensors`;
      // --batch 1 so each image is its own encoder call; b comes first to check the order.
      await program().parseAsync(
        [
          "encode",
          b,
          a,
          "--weights",
          FIXTURE,
          "--resolution",
          "48x64",
          "--batch",
          "1",
          "--backend",
          "webgpu",
          "--out",
          out,
        ],
        { from: "user" },
      );
      const { tensors, metadata } = parseSafetensors(await Deno.readFile(out));
      assert.deepEqual(tensors.cls.shape, [2, 64]);
      assert.deepEqual(tensors.registers.shape, [2, 4, 64]);
      assert.deepEqual(tensors.patch_tokens.shape, [2, 3, 4, 64]);
      assert.deepEqual(tensors.patch_mean.shape, [2, 64]);
      assert.deepEqual(JSON.parse(metadata.images), [b, a]);
      assert.equal(metadata.backend, "webgpu");
      const encoder = await createDinov3WebGpuEncoder(gpu, FIXTURE);
      try {
        const images = [await readEncoderImage(b), await readEncoderImage(a)];
        const ref = await encoder.encode(imagesToBatch(images, [48, 64], encoder.preprocess));
        assert.ok(maxAbsDiff(tensors.cls.data as Float32Array, ref.cls.data) < 1e-6);
        assert.ok(maxAbsDiff(tensors.patch_tokens.data as Float32Array, ref.patches.data) < 1e-6);
      } finally {
        encoder.dispose();
      }
      await assert.rejects(
        () =>
          program().parseAsync(
            [
              "encode",
              a,
              b,
              "--weights",
              FIXTURE,
              "--resolution",
              "native",
              "--backend",
              "webgpu",
              "--out",
              out,
            ],
            { from: "user" },
          ),
        /same patch grid/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

gpuTest("medprobe pca writes the image and its PC map side by side", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medprobe-pca-" });
  try {
    const [a] = await writeImages(dir);
    const out = `${dir}/pca.png`;
    await program().parseAsync(
      ["pca", a, "--weights", FIXTURE, "--resolution", "64", "--backend", "webgpu", "--out", out],
      { from: "user" },
    );
    const png = parsePng(await Deno.readFile(out), out);
    assert.deepEqual([png.width, png.height, png.channels], [64 * 2 + 8, 64, 3]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("composePcaFigure() upsamples the map by nearest neighbour beside the image", () => {
  const image = {
    kind: "image" as const,
    data: new Uint8Array(4).fill(255),
    width: 2,
    height: 2,
    channels: 1,
  };
  const rgb = new Uint8Array([10, 20, 30, 40, 50, 60]); // a 1×2 grid
  const f = composePcaFigure(image, rgb, [1, 2], [2, 4]);
  assert.deepEqual([f.width, f.height], [16, 2]);
  const px = (x: number, y: number) => [...f.data.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3)];
  assert.deepEqual(px(0, 0), [255, 255, 255]); // the white image
  assert.deepEqual(px(12, 1), [10, 20, 30]); // left half of the map
  assert.deepEqual(px(15, 0), [40, 50, 60]); // right half
});

Deno.test("writePcaFigure() puts a CT slice and its PET, resliced, in two rows (onnx backend)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medprobe-pca-" });
  try {
    // CT 48×48×6 at 1 mm with a bright disc; PET 24×24×3 at 2 mm over the same extent, a hot spot.
    const ct = new Float32Array(6 * 48 * 48).fill(-1000);
    for (let k = 0; k < 6; k++) {
      for (let j = 0; j < 48; j++) {
        for (let i = 0; i < 48; i++) {
          if (Math.hypot(i - 24, j - 24) < 18) ct[(k * 48 + j) * 48 + i] = 40 + ((i * 7 + j) % 30);
        }
      }
    }
    await writeNifti(`${dir}/ct.nii.gz`, ct, {
      shape: [48, 48, 6],
      affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
    });
    const pet = new Float32Array(3 * 24 * 24).fill(0.5);
    for (const k of [1, 2]) {
      for (let j = 4; j < 8; j++) for (let i = 14; i < 18; i++) pet[(k * 24 + j) * 24 + i] = 10;
    }
    await writeNifti(`${dir}/pet.nii.gz`, pet, {
      shape: [24, 24, 3],
      affine: [2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1],
    });
    const out = `${dir}/petct.png`;
    const r = await writePcaFigure(`${dir}/ct.nii.gz`, {
      weights: FIXTURE,
      resolution: 64,
      backend: "onnx",
      out,
      slice: 3,
      window: [-160, 240],
      pet: `${dir}/pet.nii.gz`,
      petWindow: [0, 10],
    });
    assert.deepEqual(r.rows.map((x) => x.description), [
      "NIfTI, z slice 3 of 6",
      "PET resliced onto z slice 3 of the CT",
    ]);
    assert.deepEqual(r.rows.map((x) => x.grid), [[4, 4], [4, 4]]);
    const png = parsePng(await Deno.readFile(out), out);
    assert.deepEqual([png.width, png.height], [2 * 64 + 8, 2 * 64 + 8]);
    const px = (x: number, y: number) => png.data[(y * png.width + x) * 3];
    // Row 1, left: the CT disc is bright in the centre and black in the corner.
    assert.ok(px(32, 32) > 100 && px(2, 2) < 10, `CT ${px(32, 32)} ${px(2, 2)}`);
    // Row 2, left: the PET hot spot (world x 28..35, y 8..15 → 64-px image x ≈ 40, y ≈ 16).
    const petTop = 64 + 8;
    assert.ok(px(40, petTop + 15) > 200, `PET hot spot ${px(40, petTop + 15)}`);
    assert.ok(px(10, petTop + 50) < 40, `PET background ${px(10, petTop + 50)}`);
    // The gap between the rows is white.
    assert.equal(px(20, 66), 255);
    // --slice pet-max: the CT slice through the hottest PET voxel (PET k = 1 → world z = 2).
    const hot = await writePcaFigure(`${dir}/ct.nii.gz`, {
      weights: FIXTURE,
      resolution: 64,
      backend: "onnx",
      out: `${dir}/hot.png`,
      slice: "pet-max",
      pet: `${dir}/pet.nii.gz`,
    });
    assert.equal(hot.rows[0].description, "NIfTI, z slice 2 of 6");
    await assert.rejects(
      writePcaFigure(`${dir}/ct.nii.gz`, {
        weights: FIXTURE,
        resolution: 64,
        backend: "onnx",
        out: `${dir}/x.png`,
        slice: "pet-max",
      }),
      /"pet-max" as it needs --pet/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stackFigureRows() stacks rows with a white gap and pads narrow ones", () => {
  const a = { data: new Uint8Array(2 * 1 * 3).fill(7), width: 2, height: 1 };
  const b = { data: new Uint8Array(1 * 2 * 3).fill(9), width: 1, height: 2 };
  const s = stackFigureRows([a, b]);
  assert.deepEqual([s.width, s.height], [2, 1 + 8 + 2]);
  assert.equal(s.data[0], 7);
  assert.equal(s.data[(4 * 2) * 3], 255); // gap
  assert.equal(s.data[(9 * 2) * 3], 9);
  assert.equal(s.data[(9 * 2 + 1) * 3], 255); // padding
});
