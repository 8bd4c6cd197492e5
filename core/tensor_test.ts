import assert from "node:assert/strict";
import { bf16ToF32, f16BitsToNumber, f16ToF32, f32ToF16, numberToF16Bits } from "./tensor.ts";

Deno.test("numberToF16Bits() rounds like IEEE 754 half (ties to even, overflow, subnormals)", () => {
  assert.equal(numberToF16Bits(65504), 0x7bff);
  assert.equal(numberToF16Bits(65520), 0x7c00); // rounds up to infinity
  assert.equal(numberToF16Bits(-Infinity), 0xfc00);
  assert.ok(Number.isNaN(f16BitsToNumber(numberToF16Bits(NaN))));
  assert.equal(numberToF16Bits(2 ** -24), 0x0001); // smallest subnormal
  assert.equal(numberToF16Bits(2 ** -25), 0x0000); // tie to even: 0
  assert.equal(numberToF16Bits(3 * 2 ** -25), 0x0002); // tie to even: 2
  assert.equal(numberToF16Bits(1 + 2 ** -11), 0x3c00); // tie to even (down)
  assert.equal(numberToF16Bits(1 + 3 * 2 ** -11), 0x3c02); // tie to even (up)
  assert.equal(numberToF16Bits(-0), 0x8000);
});

Deno.test("f16 and bf16 conversions are exact on representable values", () => {
  const values = new Float32Array([0, 1, -2, 0.5, 1024, 6.103515625e-5, 5.960464477539063e-8]);
  assert.deepEqual([...f16ToF32(f32ToF16(values))], [...values]);
  assert.deepEqual([...bf16ToF32(new Uint16Array([0x3f80, 0xc000, 0x4049]))], [1, -2, 3.140625]);
});
