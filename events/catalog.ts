/**
 * THE event catalogue of this program: every event type producers may send, what its payload must
 * contain, who owns it and at which version it is. The handler bundles import this module at build
 * time (esbuild), so the deployed functions validate with exactly these schemas; nothing here
 * touches Pulumi, and nothing is serialized from the Pulumi program (docs/adr/0037).
 *
 * Write schemas with `zod/mini` (docs/adr/0004): classic `zod` validates the same but brings most
 * of the library into every handler bundle. A change is checked by `npm run catalog -- check`:
 * removing or renaming a field, narrowing a type or adding a required field is breaking and needs
 * a higher `version` (README, "Declare your events").
 *
 * Whether the catalogue is enforced is per stack: `catalogMode` (off | warn | enforce) and
 * `unknownEventTypes` (allow | warn | reject), both off / allow by default.
 */
import * as z from "zod/mini";
import { defineCatalog, defineEventType, type CatalogEvent, type CatalogEventType } from "../handlers/lib/events/catalog";

// Building blocks, shared by several types.
const currency = z.enum(["EUR", "USD", "GBP", "SEK", "NOK", "DKK", "JPY"]);
const countryCode = z.string().check(z.regex(/^[A-Z]{2}$/, "must be an ISO 3166-1 alpha-2 code"));
const positiveMinorUnits = z.int().check(z.positive());

// ---------------------------------------------------------------------------------------------
// The shop and the payments pipeline (pipelines/payments.ts).

const orderCreated = defineEventType({
  description: "A customer placed an order in the shop. Totals are in major units of `currency`.",
  owner: "team-checkout",
  version: 1,
  payload: z.object({
    order_id: z.string().check(z.minLength(1)),
    total: z.number().check(z.nonnegative()),
    currency,
    lines: z
      .array(
        z.object({
          sku: z.string().check(z.minLength(1)),
          qty: z.int().check(z.positive()),
        }),
      )
      .check(z.minLength(1)),
    customer_id: z.optional(z.string()),
  }),
  examples: [{ order_id: "o-1001", total: 42.5, currency: "EUR", lines: [{ sku: "A-1", qty: 2 }] }],
});

const paymentSucceeded = defineEventType({
  description:
    "A payment was captured. Published to the SNS pipeline by the payment system; the pipeline's stages add `fee`, `net_amount` (minor units) and `metadata.risk_band`.",
  owner: "team-payments",
  version: 1,
  payload: z.object({
    payment_id: z.string().check(z.minLength(1)),
    amount: positiveMinorUnits,
    currency,
    country: z.optional(countryCode),
    card_country: z.optional(countryCode),
    fee: z.optional(z.int()),
    net_amount: z.optional(z.int()),
  }),
  metadata: z.object({ risk_band: z.optional(z.enum(["low", "medium", "high"])) }),
  examples: [{ payment_id: "pay_1", amount: 125000, currency: "EUR", country: "SE", card_country: "SE" }],
});

// ---------------------------------------------------------------------------------------------
// GitHub webhooks (POST /webhooks/{source}, scheme github). The event_type is `X-GitHub-Event` +
// `.` + `action` (handlers/lib/webhooks/receiveWebhook.ts): `push`, `pull_request.opened`, …
// A documented subset of @octokit/webhooks-schemas: only fields consumers here read, each one
// required there too, objects open to every other field GitHub sends (test/handlers/catalog.test.ts
// checks both against the schemas and GitHub's example deliveries).

const githubUser = z.looseObject({ login: z.string(), id: z.int() });
const githubRepository = z.looseObject({ id: z.int(), full_name: z.string(), private: z.boolean() });
const gitSha = z.string().check(z.regex(/^[0-9a-f]{40}$/, "must be a 40-character hex SHA"));
const githubBranch = z.looseObject({ ref: z.string(), sha: gitSha });

const githubPush = defineEventType({
  description: "GitHub `push`: commits were pushed to a branch or a tag was pushed (a documented subset of GitHub's payload).",
  owner: "team-platform",
  version: 1,
  payload: z.looseObject({
    ref: z.string(),
    before: gitSha,
    after: gitSha,
    created: z.boolean(),
    deleted: z.boolean(),
    forced: z.boolean(),
    commits: z.array(z.looseObject({ id: z.string(), message: z.string(), timestamp: z.string(), author: z.looseObject({ name: z.string() }) })),
    repository: githubRepository,
    pusher: z.looseObject({ name: z.string() }),
    sender: githubUser,
  }),
  examples: [
    {
      ref: "refs/heads/main",
      before: "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
      after: "0000000000000000000000000000000000000000",
      created: false,
      deleted: true,
      forced: false,
      commits: [],
      repository: { id: 186853002, full_name: "Codertocat/Hello-World", private: false },
      pusher: { name: "Codertocat" },
      sender: { login: "Codertocat", id: 21031067 },
    },
  ],
});

const githubPullRequestOpened = defineEventType({
  description: "GitHub `pull_request` with action `opened` (a documented subset of GitHub's payload).",
  owner: "team-platform",
  version: 1,
  payload: z.looseObject({
    action: z.literal("opened"),
    number: z.int(),
    pull_request: z.looseObject({
      id: z.int(),
      number: z.int(),
      title: z.string(),
      state: z.literal("open"),
      user: githubUser,
      head: githubBranch,
      base: githubBranch,
    }),
    repository: githubRepository,
    sender: githubUser,
  }),
  examples: [
    {
      action: "opened",
      number: 2,
      pull_request: {
        id: 279147437,
        number: 2,
        title: "Update the README with new information.",
        state: "open",
        user: { login: "Codertocat", id: 21031067 },
        head: { ref: "changes", sha: "ec26c3e57ca3a959ca5aad62de7213c562f8c821" },
        base: { ref: "master", sha: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e" },
      },
      repository: { id: 186853002, full_name: "Codertocat/Hello-World", private: false },
      sender: { login: "Codertocat", id: 21031067 },
    },
  ],
});

const githubIssueOpened = defineEventType({
  description: "GitHub `issues` with action `opened` (a documented subset of GitHub's payload).",
  owner: "team-platform",
  version: 1,
  payload: z.looseObject({
    action: z.literal("opened"),
    issue: z.looseObject({ id: z.int(), number: z.int(), title: z.string(), state: z.enum(["open", "closed"]) }),
    repository: githubRepository,
    sender: githubUser,
  }),
  examples: [
    {
      action: "opened",
      issue: { id: 444500041, number: 1, title: "Spelling error in the README file", state: "open" },
      repository: { id: 186853002, full_name: "Codertocat/Hello-World", private: false },
      sender: { login: "Codertocat", id: 21031067 },
    },
  ],
});

export const catalog = defineCatalog({
  "order.created": orderCreated,
  "payment.succeeded": paymentSucceeded,
  push: githubPush,
  "pull_request.opened": githubPullRequestOpened,
  "issues.opened": githubIssueOpened,
});

/** The declared event types: `"order.created" | "payment.succeeded" | …`. */
export type EventType = CatalogEventType<typeof catalog>;

/** An event of a declared type, typed from its schema: `EventOf<"order.created">["payload"]["total"]` is a number. */
export type EventOf<T extends EventType> = CatalogEvent<typeof catalog, T>;
