/**
 * What `pulumi up` would create, read from the program built under the same Pulumi mocks the
 * infra tests use (cli/preview/mockStack.ts): a resource tree with the settings that matter, the
 * same as data, a diff between two stacks, and a Mermaid diagram. Nothing here knows the
 * project's resources by name: settings are the registered inputs, references between resources
 * are found by the ARNs, ids and names in those inputs, so a resource another component adds
 * shows up without a change here.
 */
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { UNRESERVED_CONCURRENCY_MINIMUM } from "../../components/handlerFunction";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import type { BuiltStack, MockResource } from "./mockStack";

export type SettingValue = string | number | boolean;

export interface PreviewResource {
  /** `${type}::${logical name}`: the same resource in every stack. */
  key: string;
  urn: string;
  /** The parent's key; undefined at the top of the program. */
  parent: string | undefined;
  type: string;
  name: string;
  component: boolean;
  physicalName: string | undefined;
  /** Registered inputs, flattened to dot paths; references to other resources as `→<logical name>`. */
  settings: Record<string, SettingValue>;
}

export interface PreviewEdge {
  from: string;
  to: string;
  label: string;
}

export interface StackPreview {
  stack: string;
  region: string;
  resourceCount: number;
  /** Reserved concurrency per Lambda function (physical name), for those with a reservation. */
  reservedConcurrency: Record<string, number>;
  /** The regional Lambda concurrency quota the reservations need: their sum plus 100 unreserved. */
  requiredLambdaConcurrencyQuota: number;
  resources: PreviewResource[];
  /** Data and invocation flow between functions, tables, queues, topics, buses, state machines and APIs. */
  edges: PreviewEdge[];
}

/** Resource types drawn as diagram nodes, with their Mermaid shape. */
const NODE_SHAPES: Record<string, [open: string, close: string, icon: string]> = {
  "aws:apigatewayv2/api:Api": ["([", "])", "HTTP API"],
  "aws:lambda/function:Function": ["[", "]", "λ"],
  "aws:dynamodb/table:Table": ["[(", ")]", "table"],
  "aws:sqs/queue:Queue": ["[/", "/]", "queue"],
  "aws:sns/topic:Topic": ["{{", "}}", "topic"],
  "aws:cloudwatch/eventBus:EventBus": [">", "]", "bus"],
  "aws:sfn/stateMachine:StateMachine": ["[[", "]]", "state machine"],
};
const FUNCTION = "aws:lambda/function:Function";

/** Inputs that are noise in a preview (code, tags) or shown another way (name, policies). */
const HIDDEN_INPUTS = new Set(["name", "code", "tags", "tagsAll", "assumeRolePolicy", "policy", "dashboardBody", "widgets", "description", "alarmDescription"]);
const MAX_DEPTH = 4;
const MAX_STRING = 160;

/** Actions by which a function is fed (by a poller), not by which it acts: drawn by the mapping instead. */
const CONSUMING_ACTIONS = /^(dynamodb:(DescribeStream|GetRecords|GetShardIterator|ListStreams)|sqs:(ReceiveMessage|DeleteMessage|GetQueueAttributes|ChangeMessageVisibility))$/;
/** Types that grant or watch rather than carry data; their references draw no arrow. */
const NOT_FLOW = /policy|permission|alarm|dashboard|logGroup|iam\//i;

export function previewOf(built: BuiltStack): StackPreview {
  const resources = built.resources;
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const keyOf = (r: MockResource) => `${r.type}::${r.name}`;
  const refs = referenceTable(resources);

  const preview: PreviewResource[] = resources.map((r) => {
    const settings = r.custom ? flattenSettings(r.inputs, refs, r) : {};
    if (r.type === "aws:iam/role:Role") Object.assign(settings, roleGrants(r, resources, refs));
    return {
      key: keyOf(r),
      urn: r.urn,
      parent: r.parent && byUrn.has(r.parent) ? keyOf(byUrn.get(r.parent)!) : undefined,
      type: r.type,
      name: r.name,
      component: !r.custom,
      physicalName: typeof r.inputs.name === "string" ? r.inputs.name : undefined,
      settings,
    };
  });

  const reservedConcurrency: Record<string, number> = {};
  for (const f of resources.filter((r) => r.type === FUNCTION && typeof r.inputs.reservedConcurrentExecutions === "number")) {
    reservedConcurrency[f.inputs.name ?? f.name] = f.inputs.reservedConcurrentExecutions;
  }
  const reserved = Object.values(reservedConcurrency).reduce((sum, n) => sum + n, 0);

  return {
    stack: built.stack,
    region: built.config["aws:region"] ?? "",
    resourceCount: resources.length,
    reservedConcurrency,
    requiredLambdaConcurrencyQuota: reserved + UNRESERVED_CONCURRENCY_MINIMUM,
    resources: preview,
    edges: flowEdges(resources, refs, keyOf),
  };
}

/** Strings by which inputs refer to a resource: ARNs, URLs, mock ids and physical names. */
interface Reference {
  text: string;
  resource: MockResource;
  /** Physical names and ids must match a whole string; ARNs and URLs may open a longer one. */
  exact: boolean;
}

function referenceTable(resources: MockResource[]): Reference[] {
  const table: Reference[] = [];
  for (const r of resources.filter((x) => x.custom)) {
    for (const field of ["arn", "invokeArn", "streamArn", "executionArn", "url", "apiEndpoint"]) {
      const value = r.state[field];
      if (typeof value === "string" && value !== "") table.push({ text: value, resource: r, exact: false });
    }
    table.push({ text: r.id, resource: r, exact: false });
    if (typeof r.inputs.name === "string") table.push({ text: r.inputs.name, resource: r, exact: true });
  }
  // A physical name two resources share (a table and a bus may both be "...-events") says nothing.
  const names = new Map<string, number>();
  for (const ref of table.filter((x) => x.exact)) names.set(ref.text, (names.get(ref.text) ?? 0) + 1);
  table.splice(0, table.length, ...table.filter((x) => !x.exact || names.get(x.text) === 1));
  // Longest first, so an ARN wins over a shorter one it starts with.
  return table.sort((a, b) => b.text.length - a.text.length);
}

/** The resources a string refers to, in the order they appear in it. */
function referencesIn(value: string, refs: Reference[], self?: MockResource): { ref: Reference; at: number }[] {
  const found: { ref: Reference; at: number }[] = [];
  const taken: [number, number][] = [];
  for (const ref of refs) {
    if (ref.resource === self) continue;
    if (ref.exact) {
      if (value === ref.text) found.push({ ref, at: 0 });
      continue;
    }
    let at = value.indexOf(ref.text);
    while (at !== -1) {
      const end = at + ref.text.length;
      const boundary = end === value.length || !/[A-Za-z0-9_-]/.test(value[end]!);
      const overlaps = taken.some(([s, e]) => at < e && end > s);
      if (boundary && !overlaps) {
        found.push({ ref, at });
        taken.push([at, end]);
      }
      at = value.indexOf(ref.text, at + 1);
    }
  }
  return found.sort((a, b) => a.at - b.at);
}

function describeReferences(value: string, refs: Reference[], self: MockResource): string {
  const found = referencesIn(value, refs, self);
  if (found.length === 0) return value;
  let out = "";
  let last = 0;
  for (const { ref, at } of found.sort((a, b) => a.at - b.at)) {
    out += `${value.slice(last, at)}→${ref.resource.name}`;
    last = at + ref.text.length;
  }
  return out + value.slice(last);
}

/** How the preview shows a secret, in the tree, the diff and --json. */
export const SECRET_SHOWN_AS = "[secret]";

/** A value the mocks received as a Pulumi secret: the RPC layer's `{<sig key>: <secret sig>, value}` wrapper. */
function isSecretValue(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[rpc.specialSigKey] === rpc.specialSecretSig;
}

function flattenSettings(inputs: Record<string, any>, refs: Reference[], self: MockResource): Record<string, SettingValue> {
  const out: Record<string, SettingValue> = {};
  const visit = (value: unknown, path: string, depth: number) => {
    if (value === undefined || value === null) return;
    // A Pulumi secret (an SSM SecureString's value, anything made from config.requireSecret) is never printed.
    if (isSecretValue(value)) {
      out[path] = SECRET_SHOWN_AS;
      return;
    }
    if (typeof value === "string") {
      if (value.length <= MAX_STRING) out[path] = describeReferences(value, refs, self);
      return;
    }
    if (typeof value === "number" || typeof value === "boolean") {
      out[path] = value;
      return;
    }
    if (depth >= MAX_DEPTH || typeof value !== "object") return;
    // A Pulumi secret (a webhook's or a subscription's signing secret) is shown as such, never its value.
    if ((value as Record<string, unknown>)[specialSigKey] === specialSecretSig) {
      out[path] = "[secret]";
      return;
    }
    if (Array.isArray(value)) {
      if (value.every((v) => typeof v !== "object" || v === null)) {
        if (value.length > 0) out[path] = value.map((v) => (typeof v === "string" ? describeReferences(v, refs, self) : String(v))).join(", ");
        return;
      }
      value.forEach((v, i) => visit(v, `${path}[${i}]`, depth + 1));
      return;
    }
    for (const [key, v] of Object.entries(value)) {
      if (depth === 0 && HIDDEN_INPUTS.has(key)) continue;
      visit(v, path === "" ? key : `${path}.${key}`, depth + 1);
    }
  };
  visit(inputs, "", 0);
  return out;
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
}

function statementsOf(policy: unknown): Statement[] {
  if (typeof policy !== "string") return [];
  try {
    const parsed = JSON.parse(policy) as { Statement?: Statement | Statement[] };
    return ([] as Statement[]).concat(parsed.Statement ?? []);
  } catch {
    return [];
  }
}

const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

/** The role's inline policies as `allow[i]`: actions on resources (by logical name where known). */
function roleGrants(role: MockResource, resources: MockResource[], refs: Reference[]): Record<string, SettingValue> {
  const out: Record<string, SettingValue> = {};
  const policies = resources.filter((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && (r.inputs.role === role.id || r.inputs.role === role.inputs.name));
  let i = 0;
  for (const statement of policies.flatMap((p) => statementsOf(p.inputs.policy))) {
    const on = list(statement.Resource).map((arn) => describeReferences(arn, refs, role)).join(", ");
    out[`${statement.Effect.toLowerCase()}[${i++}]`] = `${list(statement.Action).join(", ")} on ${on}`;
  }
  const attached = resources.filter((r) => r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment" && r.inputs.role === role.id);
  attached.forEach((a, j) => (out[`managedPolicy[${j}]`] = String(a.inputs.policyArn)));
  return out;
}

function flowEdges(resources: MockResource[], refs: Reference[], keyOf: (r: MockResource) => string): PreviewEdge[] {
  const isNode = (r: MockResource) => r.type in NODE_SHAPES;
  const nodeRefs = refs.filter((ref) => isNode(ref.resource));
  const edges = new Map<string, PreviewEdge>();
  const add = (from: MockResource, to: MockResource, label: string) => {
    if (from === to) return;
    const id = `${keyOf(from)} ${keyOf(to)}`;
    const existing = edges.get(id);
    if (!existing) edges.set(id, { from: keyOf(from), to: keyOf(to), label });
    else if (!existing.label.split(" / ").includes(label)) existing.label += ` / ${label}`;
  };
  /**
   * Node resources referred to in a value. Inputs arrive sorted by key, so the order of a flow
   * comes from where a reference sits: sources first (`eventSourceArn`, `source`, `topic`,
   * `apiId`), failure destinations last, everything else between.
   */
  const nodesIn = (value: unknown, self: MockResource): MockResource[] => {
    const found: { node: MockResource; rank: number }[] = [];
    const visit = (v: unknown, path: string) => {
      if (typeof v === "string") {
        const rank = /destination|deadletter|onfailure/i.test(path) ? 2 : /source|topic|apiid/i.test(path) ? 0 : 1;
        for (const { ref } of referencesIn(v, nodeRefs, self)) found.push({ node: ref.resource, rank });
      } else if (Array.isArray(v)) v.forEach((x, i) => visit(x, `${path}[${i}]`));
      else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) visit(x, `${path}.${k}`);
    };
    visit(value, "");
    return [...new Set(found.sort((a, b) => a.rank - b.rank).map((f) => f.node))];
  };

  // What each function's role lets it do to other nodes.
  for (const fn of resources.filter((r) => r.type === FUNCTION)) {
    const role = resources.find((r) => r.type === "aws:iam/role:Role" && r.state.arn === fn.inputs.role);
    if (!role) continue;
    const policies = resources.filter((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.inputs.role === role.id);
    const verbs = new Map<MockResource, Set<string>>();
    for (const statement of policies.flatMap((p) => statementsOf(p.inputs.policy))) {
      const actions = list(statement.Action).filter((a) => !CONSUMING_ACTIONS.test(a));
      if (statement.Effect !== "Allow" || actions.length === 0) continue;
      for (const target of list(statement.Resource).flatMap((arn) => nodesIn(arn, fn))) {
        const set = verbs.get(target) ?? new Set<string>();
        actions.forEach((a) => set.add(a.split(":")[1] ?? a));
        verbs.set(target, set);
      }
    }
    for (const [target, set] of verbs) add(fn, target, [...set].sort().join(", "));
  }

  const routesByIntegration = new Map<string, string[]>();
  for (const route of resources.filter((r) => r.type === "aws:apigatewayv2/route:Route")) {
    const target = String(route.inputs.target ?? "");
    const integration = resources.find((r) => target === `integrations/${r.id}`);
    if (integration) routesByIntegration.set(integration.id, [...(routesByIntegration.get(integration.id) ?? []), String(route.inputs.routeKey)]);
  }

  for (const r of resources.filter((x) => x.custom && !NOT_FLOW.test(x.type))) {
    if (isNode(r)) {
      // A queue's redrive policy, a state machine's definition: the node uses another node.
      if (r.type === FUNCTION) continue;
      for (const [key, value] of Object.entries(r.inputs)) {
        if (key !== "name") for (const target of nodesIn(value, r)) add(r, target, key);
      }
      continue;
    }
    // A connector (event source mapping, integration, subscription, pipe): a chain through the nodes it names.
    const chain = nodesIn(r.inputs, r);
    const short = r.type.split(":").pop()!;
    const label = routesByIntegration.get(r.id)?.join(", ") ?? (r.type === "aws:apigatewayv2/authorizer:Authorizer" ? "authorize" : short);
    for (let i = 1; i < chain.length; i++) add(chain[i - 1]!, chain[i]!, label);
  }
  return [...edges.values()];
}

// ---------------------------------------------------------------------------------------------
// Rendering

const shortType = (type: string) => {
  const [pkg, module, name] = type.split(":");
  return pkg === "aws" ? `${(module ?? "").split("/")[0]}.${name}` : `${name} (component)`;
};

/** The resource tree: component → children, each with its type, physical name and settings. */
export function renderTree(p: StackPreview): string {
  const lines = [
    `Stack ${p.stack} (${p.region}): ${p.resourceCount} resources`,
    `Lambda concurrency quota needed: ${p.requiredLambdaConcurrencyQuota} (reserved ${p.requiredLambdaConcurrencyQuota - UNRESERVED_CONCURRENCY_MINIMUM} + ${UNRESERVED_CONCURRENCY_MINIMUM} unreserved); check: aws lambda get-account-settings --region ${p.region} --query AccountLimit.ConcurrentExecutions`,
    "",
  ];
  const children = childrenByParent(p);
  const visit = (r: PreviewResource, depth: number) => {
    const indent = "  ".repeat(depth);
    lines.push(`${indent}${shortType(r.type)}  ${r.name}${r.physicalName && r.physicalName !== r.name ? `  "${r.physicalName}"` : ""}`);
    lines.push(...wrap(Object.entries(r.settings).map(([key, value]) => `${key}=${value}`), `${indent}    `, TEXT_WIDTH));
    for (const child of children.get(r.key) ?? []) visit(child, depth + 1);
  };
  for (const root of children.get(undefined) ?? []) visit(root, 0);
  if (p.edges.length > 0) {
    lines.push("", "Flows:");
    const edges = [...p.edges].sort((a, b) => compare(a.from, b.from) || compare(a.to, b.to) || compare(a.label, b.label));
  for (const e of edges) lines.push(`  ${e.from.split("::").pop()} → ${e.to.split("::").pop()}  (${e.label})`);
  }
  return lines.join("\n") + "\n";
}

const TEXT_WIDTH = 110;

/** Items joined by two spaces into lines of at most `width` (an item longer than that gets its own line). */
function wrap(items: string[], indent: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const item of items) {
    if (line !== "" && indent.length + line.length + 2 + item.length > width) {
      lines.push(indent + line);
      line = "";
    }
    line = line === "" ? item : `${line}  ${item}`;
  }
  if (line !== "") lines.push(indent + line);
  return lines;
}

/**
 * Children in key order, not registration order: the mocks register resources as their inputs
 * resolve, which varies with timing, and the README's diagram must come out the same every run.
 */
function childrenByParent(p: StackPreview): Map<string | undefined, PreviewResource[]> {
  const map = new Map<string | undefined, PreviewResource[]>();
  for (const r of [...p.resources].sort((a, b) => compare(a.key, b.key))) map.set(r.parent, [...(map.get(r.parent) ?? []), r]);
  return map;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface StackDiff {
  from: string;
  to: string;
  added: string[];
  removed: string[];
  changed: { key: string; settings: Record<string, { from: SettingValue | undefined; to: SettingValue | undefined }> }[];
  requiredLambdaConcurrencyQuota: { from: number; to: number };
}

/** What differs between two stacks, with each stack's own name in values read as `<stack>`. */
export function diffPreviews(a: StackPreview, b: StackPreview, project: string): StackDiff {
  const normal = (p: StackPreview) => {
    const stackPart = new RegExp(`${escapeRegExp(`${project}-${p.stack}`)}(?=[^A-Za-z0-9]|$)`, "g");
    return new Map(
      p.resources.map((r) => [
        r.key,
        Object.fromEntries(Object.entries(r.settings).map(([k, v]) => [k, typeof v === "string" ? v.replace(stackPart, `${project}-<stack>`) : v])),
      ]),
    );
  };
  const left = normal(a);
  const right = normal(b);
  // Compared with every `→name` read as that resource's physical name: a value shown as a
  // reference in one stack and as the bare name in the other (where two resources share the
  // name, so the reference is ambiguous) is the same value, not a change.
  const canonical = (p: StackPreview) => {
    const stackPart = new RegExp(`${escapeRegExp(`${project}-${p.stack}`)}(?=[^A-Za-z0-9]|$)`, "g");
    const named = p.resources.filter((r) => r.physicalName !== undefined).sort((x, y) => y.name.length - x.name.length);
    return (value: SettingValue | undefined) => {
      if (typeof value !== "string" || !value.includes("→")) return value;
      let text = value;
      for (const r of named) text = text.replace(new RegExp(`→${escapeRegExp(r.name)}(?![A-Za-z0-9_-])`, "g"), r.physicalName!);
      return text.replace(stackPart, `${project}-<stack>`);
    };
  };
  const leftValue = canonical(a);
  const rightValue = canonical(b);
  const changed: StackDiff["changed"] = [];
  for (const [key, settings] of right) {
    const before = left.get(key);
    if (!before) continue;
    const diff: StackDiff["changed"][number]["settings"] = {};
    for (const k of new Set([...Object.keys(before), ...Object.keys(settings)])) {
      if (before[k] !== settings[k] && leftValue(before[k]) !== rightValue(settings[k])) diff[k] = { from: before[k], to: settings[k] };
    }
    if (Object.keys(diff).length > 0) changed.push({ key, settings: diff });
  }
  return {
    from: a.stack,
    to: b.stack,
    added: [...right.keys()].filter((k) => !left.has(k)),
    removed: [...left.keys()].filter((k) => !right.has(k)),
    changed,
    requiredLambdaConcurrencyQuota: { from: a.requiredLambdaConcurrencyQuota, to: b.requiredLambdaConcurrencyQuota },
  };
}

export function renderDiff(d: StackDiff): string {
  const lines = [`Diff ${d.from} → ${d.to}`];
  const q = d.requiredLambdaConcurrencyQuota;
  if (q.from !== q.to) lines.push(`Lambda concurrency quota needed: ${q.from} → ${q.to}`);
  for (const key of d.added) lines.push(`+ ${key}`);
  for (const key of d.removed) lines.push(`- ${key}`);
  for (const c of d.changed) {
    lines.push(`~ ${c.key}`);
    for (const [k, v] of Object.entries(c.settings)) lines.push(`    ${k}: ${v.from ?? "(unset)"} → ${v.to ?? "(unset)"}`);
  }
  if (lines.length === 1) lines.push("(no differences)");
  return lines.join("\n") + "\n";
}

/**
 * The stack as a Mermaid flowchart: components as nested subgraphs, the node kinds of
 * NODE_SHAPES inside them, and the flows between them. Components without such a node are left out.
 */
export function renderMermaid(p: StackPreview, project: string): string {
  const children = childrenByParent(p);
  const ids = new Map<string, string>();
  const idOf = (key: string) => {
    if (!ids.has(key)) ids.set(key, `n${ids.size}`);
    return ids.get(key)!;
  };
  const prefix = `${project}-${p.stack}-`;
  const label = (r: PreviewResource) => {
    const name = r.physicalName?.startsWith(prefix) ? r.physicalName.slice(prefix.length) : (r.physicalName ?? r.name);
    const [, , icon] = NODE_SHAPES[r.type]!;
    return `${icon} ${name}`.replace(/"/g, "'");
  };
  const hasNode = (r: PreviewResource): boolean => r.type in NODE_SHAPES || (children.get(r.key) ?? []).some(hasNode);
  const lines = ["flowchart LR"];
  const visit = (r: PreviewResource, depth: number) => {
    const indent = "  ".repeat(depth + 1);
    if (r.type in NODE_SHAPES) {
      const [open, close] = NODE_SHAPES[r.type]!;
      lines.push(`${indent}${idOf(r.key)}${open}"${label(r)}"${close}`);
      return;
    }
    if (!r.component || !hasNode(r)) return;
    lines.push(`${indent}subgraph ${idOf(r.key)}["${shortType(r.type).replace(" (component)", "")}: ${r.name}"]`);
    for (const child of children.get(r.key) ?? []) visit(child, depth + 1);
    lines.push(`${indent}end`);
  };
  for (const root of children.get(undefined) ?? []) visit(root, 0);
  const edges = [...p.edges].sort((a, b) => compare(a.from, b.from) || compare(a.to, b.to) || compare(a.label, b.label));
  for (const e of edges) lines.push(`  ${idOf(e.from)} -->|"${e.label.replace(/"/g, "'")}"| ${idOf(e.to)}`);
  return lines.join("\n") + "\n";
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The README's generated diagram sits between these markers, inside a mermaid code block. */
export const README_MERMAID_START = "<!-- generated: npm run preview -- --stack prod --mermaid --update-readme -->";
export const README_MERMAID_END = "<!-- end of generated diagram -->";

/** The README with its diagram block replaced by `mermaid`; throws when the markers are missing. */
export function withReadmeDiagram(readme: string, mermaid: string): string {
  const start = readme.indexOf(README_MERMAID_START);
  const end = readme.indexOf(README_MERMAID_END);
  if (start === -1 || end === -1 || end < start) throw new Error(`README.md lacks the markers ${README_MERMAID_START} … ${README_MERMAID_END}`);
  return `${readme.slice(0, start + README_MERMAID_START.length)}\n\`\`\`mermaid\n${mermaid}\`\`\`\n${readme.slice(end)}`;
}
