/**
 * GitHub's own webhook example payloads (@octokit/webhooks-examples) as the minified JSON text a
 * sender would deliver, and payloads of a chosen size built from them, for
 * the cost model's size classes (npm run cost) and the large-event tests.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const examples = require("@octokit/webhooks-examples/api.github.com/index.json") as { name: string; examples: Record<string, unknown>[] }[];

/** Every example of every event type, as `{ event, action, text }`. */
export function githubExamples(): { event: string; action: string | undefined; text: string }[] {
  return examples.flatMap((group) =>
    group.examples.map((payload) => ({ event: group.name, action: typeof payload.action === "string" ? payload.action : undefined, text: JSON.stringify(payload) })),
  );
}

/** The `pull_request.opened` example: about 21 KB of JSON, the "24 KB delivery". */
export function pullRequestOpened(): string {
  return githubExamples().find((e) => e.event === "pull_request" && e.action === "opened")!.text;
}

/**
 * A GitHub-style payload of about `bytes`: the pull_request.opened example with a `commits` list
 * of copies of its pull request, each with its own pseudo-random 2 KB `body` (real commits differ,
 * so the whole compresses about 4×, not the 100× identical copies would), then padded to size.
 * Deterministic: the same size gives the same text. Numbers beyond a double's precision included.
 */
export function githubStylePayload(bytes: number): string {
  const base = JSON.parse(pullRequestOpened()) as Record<string, unknown>;
  if (bytes <= 300) return JSON.stringify({ action: "ping", zen: "Keep it logically awesome.".padEnd(Math.max(0, bytes - 60), "."), hook_id: 12345678 });
  let seed = bytes | 0;
  const random = () => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const sha = () => Array.from({ length: 40 }, () => "0123456789abcdef"[Math.floor(random() * 16)]).join("");
  const words = ["fix", "add", "the", "build", "test", "refactor", "merge", "branch", "cache", "docs", "bump", "release", "of", "in"];
  const prose = (n: number) => Array.from({ length: n }, () => words[Math.floor(random() * words.length)]! + (random() < 0.4 ? ` ${sha()}` : "")).join(" ");
  const copies: string[] = [];
  let length = Buffer.byteLength(JSON.stringify(base));
  while (length < bytes - 30_000) {
    const copy = JSON.stringify({ ...(base.pull_request as Record<string, unknown>), number: copies.length + 1, body: prose(350) });
    copies.push(copy);
    length += copy.length + 1;
  }
  // Spliced as text so the big id keeps its digits (JSON.stringify of a double would round it).
  const head = JSON.stringify({ ...base, note: "" }).slice(0, -"\"\"}".length - '"note":'.length);
  const tail = `"commits":[${copies.join(",")}],"big_id":12345678901234567890123,"note":"`;
  const pad = Math.max(0, bytes - Buffer.byteLength(head) - Buffer.byteLength(tail) - 2);
  return `${head}${tail}${prose(Math.ceil(pad / 5)).slice(0, pad)}"}`;
}
