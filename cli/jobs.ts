/**
 * Job records of sharded extractions: `<cache>/<namespace>/jobs/shard-K-of-N.json`
 * says which samples shard K of N must extract, its state, its attempts,
 * its failed samples and who ran it (host, pid, SLURM / Kubernetes ids).
 * `medprobe extract --shard` writes them; `medprobe cache status` reads them.
 *
 * @module
 */

import { writeFileAtomic } from "../core/_fs.ts";
import { parseShard, type ShardSpec } from "../core/shard.ts";

/** What one shard of an extraction did (`jobs/shard-K-of-N.json`). */
export interface ShardJobRecord {
  /** `"K/N"`. */
  shard: string;
  /** `"running"`, `"done"` or `"failed"`. */
  state: "running" | "done" | "failed";
  /** Runs of this shard so far (a requeued shard counts again). */
  attempts: number;
  /** Sample ids the shard must extract. */
  samples: string[];
  /** Ids that could not be read or encoded (not cached), with reasons. */
  failed: { id: string; reason: string }[];
  /** Samples computed by the last attempt, and found cached. */
  computed: number;
  /** Samples found already cached by the last attempt. */
  skipped: number;
  /** Who ran the last attempt: host, pid, scheduler ids. */
  writer: Record<string, string | number>;
  /** ISO times of the last attempt. */
  started: string;
  /** ISO time of the last update. */
  updated: string;
  /** Error message of a failed attempt. */
  error?: string;
}

/** The job record file of a shard, relative to the namespace folder. */
export function jobRecordFile(shard: ShardSpec): string {
  return `jobs/shard-${shard.index}-of-${shard.count}.json`;
}

/** Host, pid and the SLURM / Kubernetes ids found in the environment. */
export function writerIdentity(): Record<string, string | number> {
  const out: Record<string, string | number> = { host: Deno.hostname(), pid: Deno.pid };
  for (
    const name of [
      "SLURM_JOB_ID",
      "SLURM_ARRAY_JOB_ID",
      "SLURM_ARRAY_TASK_ID",
      "SLURM_RESTART_COUNT",
      "JOB_COMPLETION_INDEX",
    ]
  ) {
    const v = Deno.env.get(name);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** Reads the job records of a namespace folder (none when it has no `jobs/`). */
export async function readJobRecords(namespaceDir: string): Promise<ShardJobRecord[]> {
  const out: ShardJobRecord[] = [];
  try {
    for await (const e of Deno.readDir(`${namespaceDir}/jobs`)) {
      if (!e.isFile || !/^shard-\d+-of-\d+\.json$/.test(e.name)) continue;
      out.push(JSON.parse(await Deno.readTextFile(`${namespaceDir}/jobs/${e.name}`)));
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort((a, b) => a.shard.localeCompare(b.shard, "en", { numeric: true }));
}

/** Writes a shard's job record atomically. */
export async function writeJobRecord(namespaceDir: string, record: ShardJobRecord): Promise<void> {
  await Deno.mkdir(`${namespaceDir}/jobs`, { recursive: true });
  const file = jobRecordFile(parseShard(record.shard));
  await writeFileAtomic(
    `${namespaceDir}/${file}`,
    new TextEncoder().encode(JSON.stringify(record, null, 1) + "\n"),
  );
}
