/** The least-privilege rule every function role in the stack must follow, for any test to apply. */
import { expect } from "chai";
import { XRAY_WRITE_ACTIONS } from "../../components/handlerFunction";
import type { BuiltStack, MockResource } from "../../cli/preview/mockStack";

export interface PolicyStatement {
  Effect: string;
  Action: string[];
  Resource: string[];
}

/** The one inline policy of a function's own role. */
export function policyOf(s: BuiltStack, fn: MockResource): { Statement: PolicyStatement[] } {
  const role = s.one("aws:iam/role:Role", (r) => r.state.arn === fn.inputs.role);
  const policy = s.one("aws:iam/rolePolicy:RolePolicy", (p) => p.inputs.role === `${role.name}-id`);
  return JSON.parse(policy.inputs.policy) as { Statement: PolicyStatement[] };
}

/**
 * Named actions on named ARNs. The only wildcards: log writes on the function's own log group
 * (`<arn>:*`, its streams), the claim check's objects under `events/` of the payload bucket (never
 * the whole bucket, ADR 0035), and exactly X-Ray's two write actions on `*`, because they have no
 * resource-level permissions (docs/adr/0013).
 */
export function expectLeastPrivilege(s: BuiltStack, fn: MockResource): void {
  const logGroupArn = s.one("aws:cloudwatch/logGroup:LogGroup", (l) => l.inputs.name === `/aws/lambda/${fn.inputs.name}`).state.arn;
  const payloadObjects = s.ofType("aws:s3/bucket:Bucket").map((b) => `${b.state.arn}/events/*`);
  for (const statement of policyOf(s, fn).Statement) {
    expect(statement.Effect, fn.name).to.equal("Allow");
    for (const action of statement.Action) expect(action, fn.name).not.to.include("*");
    if (statement.Resource.includes("*")) {
      expect(statement.Resource, fn.name).to.deep.equal(["*"]);
      expect([...statement.Action].sort(), `${fn.name}: only X-Ray's write actions may name "*"`).to.deep.equal([...XRAY_WRITE_ACTIONS].sort());
      continue;
    }
    for (const resource of statement.Resource) {
      expect(resource, fn.name).to.match(/^arn:aws:/);
      if (resource.includes("*")) expect([`${logGroupArn}:*`, ...payloadObjects], fn.name).to.include(resource);
    }
  }
}
