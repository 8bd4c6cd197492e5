import assert from "node:assert/strict";
import { jobRecordFile, readJobRecords, writeJobRecord } from "./jobs.ts";

Deno.test("job records round-trip and list in shard order", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.deepEqual(await readJobRecords(dir), []);
    for (const shard of ["10/12", "2/12"]) {
      await writeJobRecord(dir, {
        shard,
        state: "done",
        attempts: 1,
        samples: [shard],
        failed: [],
        computed: 1,
        skipped: 0,
        writer: { host: "h", pid: 1 },
        started: "t",
        updated: "t",
      });
    }
    assert.equal(jobRecordFile({ index: 2, count: 12 }), "jobs/shard-2-of-12.json");
    assert.deepEqual((await readJobRecords(dir)).map((r) => r.shard), ["2/12", "10/12"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
