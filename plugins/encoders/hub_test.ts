import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { downloadSnapshot, findCachedSnapshot, parseRepoId, resolveWeights } from "./hub.ts";

const FIXTURE = new URL("../../fixtures/dinov3/tiny-public/", import.meta.url).pathname;
const REPO = "facebook/dinov3-vits16-pretrain-lvd1689m";
const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const TOKEN = "hf_test_token";

interface ServerOptions {
  /** Cut the first GET of the weights after this many bytes. */
  dropAfter?: number;
  /** Serve other bytes than the ETag says. */
  corrupt?: boolean;
}

interface Hub {
  endpoint: string;
  requests: { method: string; path: string; range: string | null }[];
  files: Map<string, Uint8Array>;
  shas: Map<string, string>;
  close(): Promise<void>;
}

/** A local hub: `/{repo}/resolve/{rev}/{file}` (gated), LFS files redirected to `/lfs/<sha256>` with Range support. */
async function startHub(options: ServerOptions = {}): Promise<Hub> {
  const files = new Map<string, Uint8Array>();
  for (const f of ["config.json", "model.safetensors"]) {
    files.set(f, await Deno.readFile(`${FIXTURE}${f}`));
  }
  const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
  const gitSha1 = (b: Uint8Array) =>
    createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");
  const shas = new Map(
    [...files].map(([f, b]) => [f, f.endsWith(".json") ? gitSha1(b) : sha256(b)]),
  );
  const requests: Hub["requests"] = [];
  let drops = options.dropAfter === undefined ? 0 : 1;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    requests.push({ method: req.method, path: url.pathname, range: req.headers.get("range") });
    if (req.headers.get("authorization") !== `Bearer ${TOKEN}`) {
      return new Response("gated", { status: 401 });
    }
    const lfs = url.pathname.match(/^\/lfs\/([0-9a-f]{64})$/);
    if (lfs) {
      let body = files.get("model.safetensors")!;
      if (options.corrupt) body = body.map((v, i) => (i === 1000 ? v ^ 1 : v));
      const m = req.headers.get("range")?.match(/^bytes=(\d+)-$/);
      const start = m ? Number(m[1]) : 0;
      const part = body.subarray(start);
      const headers = { "content-length": String(part.length) };
      if (drops > 0) {
        drops--;
        const cut = part.subarray(0, options.dropAfter);
        // The body ends early, as when a connection drops mid-transfer.
        const stream = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(cut.slice());
            c.close();
          },
        });
        return new Response(stream, { status: m ? 206 : 200 });
      }
      return new Response(part.slice(), { status: m ? 206 : 200, headers });
    }
    const resolve = url.pathname.match(/^\/(.+?\/.+?)\/resolve\/([^/]+)\/(.+)$/);
    if (!resolve || resolve[1] !== REPO || !files.has(resolve[3])) {
      return new Response("not found", { status: 404 });
    }
    const file = resolve[3];
    const common = { "x-repo-commit": COMMIT };
    if (file.endsWith(".safetensors")) {
      return new Response(null, {
        status: 302,
        headers: {
          ...common,
          location: `/lfs/${shas.get(file)}`,
          "x-linked-etag": `"${shas.get(file)}"`,
          "x-linked-size": String(files.get(file)!.length),
          etag: `"${"f".repeat(40)}"`,
        },
      });
    }
    return new Response(req.method === "HEAD" ? null : files.get(file)!.slice(), {
      headers: {
        ...common,
        etag: `"${shas.get(file)}"`,
        "content-length": String(files.get(file)!.length),
      },
    });
  });
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    requests,
    files,
    shas,
    close: () => server.shutdown(),
  };
}

Deno.test("parseRepoId tells repository ids from paths", () => {
  assert.deepEqual(parseRepoId(REPO), { repo: REPO });
  assert.deepEqual(parseRepoId(`${REPO}@${COMMIT}`), { repo: REPO, revision: COMMIT });
  for (const p of ["weights", "./a/b", "/a/b", "a/b/c", "../a/b"]) {
    assert.equal(parseRepoId(p), undefined, p);
  }
});

Deno.test("a repository id downloads into the Hugging Face cache layout, then resolves offline", async () => {
  const hub = await startHub();
  const cacheDir = await Deno.makeTempDir();
  try {
    const seen: number[] = [];
    const snapshot = await resolveWeights(REPO, {
      endpoint: hub.endpoint,
      cacheDir,
      token: TOKEN,
      onProgress: (p) => p.file === "model.safetensors" && seen.push(p.received),
    });
    const dir = `${cacheDir}/models--facebook--dinov3-vits16-pretrain-lvd1689m`;
    assert.equal(snapshot, `${dir}/snapshots/${COMMIT}`);
    assert.equal((await Deno.readTextFile(`${dir}/refs/main`)).trim(), COMMIT);
    for (const [f, bytes] of hub.files) {
      assert.deepEqual(await Deno.readFile(`${snapshot}/${f}`), bytes, f);
      assert.equal(await Deno.readLink(`${snapshot}/${f}`), `../../blobs/${hub.shas.get(f)}`);
    }
    assert.equal(seen.at(-1), hub.files.get("model.safetensors")!.length);
    // Cached: no request at all, even offline or with the hub gone.
    const before = hub.requests.length;
    assert.equal(await resolveWeights(REPO, { cacheDir, offline: true }), snapshot);
    assert.equal(await findCachedSnapshot(REPO, { cacheDir, revision: COMMIT }), snapshot);
    assert.equal(hub.requests.length, before);
  } finally {
    await hub.close();
  }
});

Deno.test("a partial download resumes with a Range request, also after a dropped connection", async () => {
  const hub = await startHub({ dropAfter: 200_000 });
  const cacheDir = await Deno.makeTempDir();
  try {
    const weights = hub.files.get("model.safetensors")!;
    const blobs = `${cacheDir}/models--facebook--dinov3-vits16-pretrain-lvd1689m/blobs`;
    await Deno.mkdir(blobs, { recursive: true });
    await Deno.writeFile(
      `${blobs}/${hub.shas.get("model.safetensors")}.incomplete`,
      weights.subarray(0, 100_000),
    );
    const resumed: number[] = [];
    const snapshot = await downloadSnapshot(REPO, {
      endpoint: hub.endpoint,
      cacheDir,
      token: TOKEN,
      onProgress: (p) => resumed.push(p.resumedFrom),
    });
    const ranges = hub.requests.filter((r) => r.path.startsWith("/lfs/")).map((r) => r.range);
    assert.deepEqual(ranges, ["bytes=100000-", "bytes=300000-"]);
    assert.deepEqual(await Deno.readFile(`${snapshot}/model.safetensors`), weights);
    assert.ok(resumed.includes(300_000));
    const left = [...Deno.readDirSync(blobs)].filter((e) => e.name.endsWith(".incomplete"));
    assert.equal(left.length, 0);
  } finally {
    await hub.close();
  }
});

Deno.test("a checksum mismatch, a missing token and no network fail with clear messages", async () => {
  const hub = await startHub({ corrupt: true });
  const cacheDir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () => resolveWeights(REPO, { endpoint: hub.endpoint, cacheDir, token: TOKEN }),
      /sha256 must equal the hub's ETag/,
    );
    const blobs = `${cacheDir}/models--facebook--dinov3-vits16-pretrain-lvd1689m/blobs`;
    const names = [...Deno.readDirSync(blobs)].map((e) => e.name);
    assert.ok(!names.includes(hub.shas.get("model.safetensors")!), "no corrupt blob kept");
    assert.ok(!names.some((n) => n.endsWith(".incomplete")), "the corrupt partial file is removed");
    await assert.rejects(
      () => resolveWeights(REPO, { endpoint: hub.endpoint, cacheDir, token: "" }),
      /HTTP 401.*set HF_TOKEN.*gated/,
    );
    await assert.rejects(
      () =>
        resolveWeights("facebook/no-such-model", {
          endpoint: hub.endpoint,
          cacheDir,
          token: TOKEN,
        }),
      /HTTP 404.*no local folder "facebook\/no-such-model"/,
    );
    await assert.rejects(
      () => resolveWeights(REPO, { cacheDir, offline: true }),
      /not in the Hugging Face cache .* HF_HUB_OFFLINE is set/,
    );
  } finally {
    await hub.close();
  }
  // The hub's port is closed now: "offline".
  await assert.rejects(
    () => resolveWeights(REPO, { endpoint: hub.endpoint, cacheDir, token: TOKEN }),
    /cannot be reached \(offline\?\)/,
  );
});

Deno.test("two processes downloading one model at once share the blob (one transfer)", async () => {
  const hub = await startHub();
  const cacheDir = await Deno.makeTempDir();
  try {
    const options = { endpoint: hub.endpoint, cacheDir, token: TOKEN };
    const [a, b] = await Promise.all([
      downloadSnapshot(REPO, options),
      downloadSnapshot(REPO, options),
    ]);
    assert.equal(a, b);
    assert.deepEqual(
      await Deno.readFile(`${a}/model.safetensors`),
      hub.files.get("model.safetensors"),
    );
    const transfers = hub.requests.filter((r) => r.method === "GET" && r.path.startsWith("/lfs/"));
    assert.equal(transfers.length, 1);
    const blobs = [
      ...Deno.readDirSync(`${cacheDir}/models--facebook--dinov3-vits16-pretrain-lvd1689m/blobs`),
    ];
    assert.ok(blobs.every((e) => !e.name.endsWith(".lock") && !e.name.endsWith(".incomplete")));
  } finally {
    await hub.close();
  }
});
