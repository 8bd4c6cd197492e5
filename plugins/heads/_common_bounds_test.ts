import assert from "node:assert/strict";
import { checkNumber, HEAD_OPTION_MAXIMA } from "./_common.ts";
import { createLinearHead } from "./linear/mod.ts";

Deno.test("checkNumber() refuses count options past their upper bound (epochs 1e9)", () => {
  const integer = (v: number) => Number.isInteger(v) && v > 0;
  assert.equal(checkNumber("linear", "epochs", 300, integer, "a positive integer"), 300);
  assert.throws(
    () => checkNumber("linear", "epochs", 1e9, integer, "a positive integer"),
    /epochs must be at most 100000 \(a larger value can only be a mistake\): current value is 1000000000/,
  );
  assert.throws(() => createLinearHead({ device: "cpu", epochs: 1e9 }), RangeError);
  assert.ok(Object.values(HEAD_OPTION_MAXIMA).every((v) => Number.isSafeInteger(v) && v > 0));
});
