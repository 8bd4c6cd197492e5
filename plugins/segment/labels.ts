// This module is browser compatible.
/**
 * Instance labels as the EM tools hold them: any integer type, 64-bit ids
 * kept exact. {@linkcode toDenseLabels} renumbers a volume to dense
 * `Uint32` ids (0 = background) and keeps the table back to the original
 * uint64 ids; {@linkcode toUint64Labels} writes dense ids as `BigUint64Array`.
 *
 * Background: id 0 and the CREMI "no label" id 2^64 − 1 (configurable) map
 * to dense id 0; they get affinity 0 and are ignored by the metrics.
 *
 * @module
 */

/** Integer label data: any integer typed array or number array; 64-bit as BigInt arrays. */
export type IntegerLabelData =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigUint64Array
  | BigInt64Array
  | ArrayLike<number>;

/** A 3D label volume `[z, y, x]`. */
export interface LabelVolume3D {
  /** The labels, C order. */
  readonly data: IntegerLabelData;
  /** `[z, y, x]`. */
  readonly shape: readonly number[];
}

/** Dense labels with the table back to the original ids. */
export interface DenseLabels {
  /** Dense ids, 0 for background, 1..count otherwise, C order. */
  readonly data: Uint32Array;
  /** `[z, y, x]`. */
  readonly shape: readonly [number, number, number];
  /** Number of distinct non-background labels. */
  readonly count: number;
  /** `original[i]` is the id dense id `i` came from (`original[0]` = 0n). */
  readonly original: BigUint64Array;
}

/** The CREMI "no label" id, 2^64 − 1. */
export const NO_LABEL_ID: bigint = 0xffffffffffffffffn;

const TWO_32 = 4294967296;

/**
 * Checks a `[z, y, x]` shape against a data length.
 *
 * @param what What is checked, for the message.
 * @param shape The shape.
 * @param length The number of values.
 * @returns The shape as a triple.
 */
export function checkShape3(
  what: string,
  shape: readonly number[],
  length: number,
): [number, number, number] {
  if (shape.length !== 3 || shape.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new TypeError(
      `Cannot use ${what} as its shape must be [z, y, x] with positive integers: current value is [${
        shape.join(", ")
      }]`,
    );
  }
  const n = shape[0] * shape[1] * shape[2];
  if (n !== length) {
    throw new TypeError(
      `Cannot use ${what} as its shape [${
        shape.join(", ")
      }] needs ${n} values: current length is ${length}`,
    );
  }
  return [shape[0], shape[1], shape[2]];
}

/**
 * Renumbers a label volume to dense `Uint32` ids in order of first
 * appearance. 64-bit ids are read as two 32-bit halves, so ids ≥ 2^53 stay
 * exact and no BigInt is created per voxel.
 *
 * @example
 * ```ts
 * import { toDenseLabels } from "./labels.ts";
 * import assert from "node:assert/strict";
 *
 * const big = 2n ** 60n + 1n;
 * const d = toDenseLabels({ data: BigUint64Array.of(0n, big, big, 7n), shape: [1, 2, 2] });
 * assert.deepEqual([...d.data], [0, 1, 1, 2]);
 * assert.equal(d.original[1], big);
 * ```
 *
 * @param labels The labels, `[z, y, x]`.
 * @param options `background`: ids that become 0. @default {{ background: [0n, 2n ** 64n - 1n] }}
 * @returns Dense labels.
 */
export function toDenseLabels(
  labels: LabelVolume3D,
  options: { background?: readonly bigint[] } = {},
): DenseLabels {
  const shape = checkShape3("the labels", labels.shape, labels.data.length);
  const background = options.background ?? [0n, NO_LABEL_ID];
  const n = labels.data.length;
  const out = new Uint32Array(n);
  const original: bigint[] = [0n];
  const bySafe = new Map<number, number>();
  const byBig = new Map<bigint, number>();
  const isBackground = (v: bigint) => background.includes(v);
  const data = labels.data;
  if (data instanceof BigUint64Array || data instanceof BigInt64Array) {
    const halves = new Uint32Array(data.buffer, data.byteOffset, n * 2);
    const signed = data instanceof BigInt64Array;
    let lastLo = -1, lastHi = -1, lastId = 0;
    for (let i = 0; i < n; i++) {
      const lo = halves[2 * i], hi = halves[2 * i + 1];
      if (lo === lastLo && hi === lastHi) {
        out[i] = lastId;
        continue;
      }
      let id: number | undefined;
      if (hi < 1 << 21) {
        const key = hi * TWO_32 + lo;
        id = bySafe.get(key);
        if (id === undefined) {
          const value = BigInt(key);
          id = isBackground(value) ? 0 : original.push(value) - 1;
          bySafe.set(key, id);
        }
      } else {
        let value = (BigInt(hi) << 32n) | BigInt(lo);
        if (signed && value >= 1n << 63n) {
          throw new RangeError(
            `Cannot use the labels as they must be non-negative: current value is ${
              value - (1n << 64n)
            }`,
          );
        }
        value = BigInt.asUintN(64, value);
        id = byBig.get(value);
        if (id === undefined) {
          id = isBackground(value) ? 0 : original.push(value) - 1;
          byBig.set(value, id);
        }
      }
      out[i] = id;
      lastLo = lo;
      lastHi = hi;
      lastId = id;
    }
  } else {
    let last = NaN, lastId = 0;
    for (let i = 0; i < n; i++) {
      const v = data[i] as number;
      if (v === last) {
        out[i] = lastId;
        continue;
      }
      let id = bySafe.get(v);
      if (id === undefined) {
        if (!Number.isSafeInteger(v) || v < 0) {
          throw new RangeError(
            `Cannot use the labels as they must be non-negative integers: current value at ${i} is ${v}`,
          );
        }
        const value = BigInt(v);
        id = isBackground(value) ? 0 : original.push(value) - 1;
        bySafe.set(v, id);
      }
      out[i] = id;
      last = v;
      lastId = id;
    }
  }
  if (original.length > 0x7fffffff) {
    throw new RangeError(
      `Cannot renumber the labels as there must be fewer than 2^31 of them: current count is ${original.length}`,
    );
  }
  return {
    data: out,
    shape,
    count: original.length - 1,
    original: BigUint64Array.from(original),
  };
}

/**
 * Dense ids as uint64 labels (for CREMI files and the metrics), optionally
 * through a table (`table[id]` is the uint64 id of dense id `id`).
 *
 * @param ids Dense ids.
 * @param table Optional id table.
 * @returns The uint64 labels.
 */
export function toUint64Labels(ids: Uint32Array, table?: BigUint64Array): BigUint64Array {
  const out = new BigUint64Array(ids.length);
  const halves = new Uint32Array(out.buffer);
  if (!table) {
    for (let i = 0; i < ids.length; i++) halves[2 * i] = ids[i];
    return out;
  }
  const t = new Uint32Array(table.buffer, table.byteOffset, table.length * 2);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    halves[2 * i] = t[2 * id];
    halves[2 * i + 1] = t[2 * id + 1];
  }
  return out;
}

/**
 * Splits every label into its 6-connected components (background 0 stays
 * 0): the result has one dense id per connected object, in order of first
 * appearance. Objects a crop cuts in two become two objects, as a
 * watershed sees them.
 *
 * @example
 * ```ts
 * import { connectedComponents } from "./labels.ts";
 * import assert from "node:assert/strict";
 * const cc = connectedComponents(Uint32Array.of(3, 3, 0, 3), [1, 1, 4]);
 * assert.deepEqual([...cc.data], [1, 1, 0, 2]);
 * ```
 *
 * @param labels Dense labels (0 = background).
 * @param shape `[z, y, x]`.
 * @returns The components and their count.
 */
export function connectedComponents(
  labels: Uint32Array,
  shape: readonly number[],
): { data: Uint32Array; count: number } {
  const [d, h, w] = checkShape3("the labels", shape, labels.length);
  const n = d * h * w, plane = h * w;
  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) parent[i] = i;
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  const union = (a: number, b: number) => {
    const ra = find(a), rb = find(b);
    if (ra !== rb) parent[ra < rb ? rb : ra] = ra < rb ? ra : rb;
  };
  for (let z = 0; z < d; z++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = z * plane + y * w + x;
        const l = labels[i];
        if (l === 0) continue;
        if (x > 0 && labels[i - 1] === l) union(i, i - 1);
        if (y > 0 && labels[i - w] === l) union(i, i - w);
        if (z > 0 && labels[i - plane] === l) union(i, i - plane);
      }
    }
  }
  const out = new Uint32Array(n);
  const ids = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    if (labels[i] === 0) continue;
    const r = find(i);
    let id = ids.get(r);
    if (id === undefined) {
      id = ids.size + 1;
      ids.set(r, id);
    }
    out[i] = id;
  }
  return { data: out, count: ids.size };
}
