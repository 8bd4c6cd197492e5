/**
 * Label and metadata tables (CSV) of the public datasets as typed rows:
 * NIH ChestX-ray14, CT-RATE labels and CT-RATE metadata.
 *
 * `read*` functions use `Deno.readTextFile`; `parse*` take text.
 *
 * @example
 * ```ts
 * import { parseCsv } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseCsv('a,b\n"x, y",2\n', "t.csv").rows, [["x, y", "2"]]);
 * ```
 *
 * @module
 */

export {
  type CsvTable,
  CT_RATE_ABNORMALITIES,
  type CtRateLabelRow,
  type CtRateMetadataRow,
  type CtRateVolumeName,
  NIH_CHEST_XRAY14_CLASSES,
  type NihDataEntryRow,
  parseCsv,
  parseCtRateLabels,
  parseCtRateMetadata,
  parseListField,
  parseNihDataEntry,
  readCsv,
  readCtRateLabels,
  readCtRateMetadata,
  readNihDataEntry,
} from "./csv.ts";
