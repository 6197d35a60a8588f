/**
 * ApiKeyAuthorizer: the API keys table (hash key = public key id; secrets only as SHA-256
 * digests), the authorizer function, its API Gateway authorizer (payload 2.0, simple responses,
 * identity source the Authorization header, cached) and an invoke permission scoped to exactly
 * that authorizer.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { API_KEYS_TABLE, ENV } from "../handlers/lib/primitives/tables";
import { AUTHORIZER_HANDLER } from "../handlers/routes";
import { tableKeys } from "./EventStore";
import { createHandlerFunction, type HandlerFunction, type HandlerFunctionArgs, type LogGroupKey } from "./handlerFunction";
import { applyTransform, physicalName, requireInteger, type Transform } from "./naming";

/** API Gateway answers 401 without calling the authorizer when this is missing. */
export const IDENTITY_SOURCE = "$request.header.Authorization";

export interface ApiKeyAuthorizerArgs {
  /** The HTTP API to attach to. */
  api: { id: pulumi.Input<string>; executionArn: pulumi.Input<string> };
  /**
   * Seconds API Gateway caches a decision per Authorization header value; 0 disables the cache.
   * A revoked key keeps working for at most this long.
   * @default 300
   */
  cacheTtlSeconds?: number;
  /** @default 14 */
  logRetentionDays?: number;
  /**
   * Customer managed KMS key that encrypts the authorizer function's log group (config
   * logEncryption: index.ts passes `LogEncryptionKey.keyArn`).
   * @default undefined (AWS-managed encryption)
   */
  logKey?: LogGroupKey;
  /** @default false */
  enablePitr?: boolean;
  /** @default false */
  deletionProtection?: boolean;
  /** X-Ray active tracing for the authorizer function. @default false */
  tracing?: boolean;
  /** Concurrency reserved for (and capping) the authorizer function. @default undefined (shared pool) */
  reservedConcurrency?: number;
  transform?: { table?: Transform<aws.dynamodb.TableArgs>; authorizer?: Transform<aws.apigatewayv2.AuthorizerArgs> } & Pick<
    NonNullable<HandlerFunctionArgs["transform"]>,
    "function" | "role" | "logGroup"
  >;
}

export class ApiKeyAuthorizer extends pulumi.ComponentResource {
  readonly keysTable: aws.dynamodb.Table;
  readonly handler: HandlerFunction;
  readonly authorizer: aws.apigatewayv2.Authorizer;
  readonly permission: aws.lambda.Permission;
  readonly keysTableName: pulumi.Output<string>;
  readonly authorizerId: pulumi.Output<string>;

  constructor(name: string, args: ApiKeyAuthorizerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("event-ingestion:index:ApiKeyAuthorizer", name, args, opts);
    const cacheTtlSeconds = requireInteger("ApiKeyAuthorizer", "cacheTtlSeconds", args.cacheTtlSeconds ?? 300, 0, 3600);

    this.keysTable = new aws.dynamodb.Table(
      `${name}-table`,
      applyTransform<aws.dynamodb.TableArgs>(
        {
          name: physicalName(API_KEYS_TABLE.purpose, "dynamodbTable"),
          billingMode: "PAY_PER_REQUEST",
          ...tableKeys(API_KEYS_TABLE),
          pointInTimeRecovery: { enabled: args.enablePitr ?? false },
          deletionProtectionEnabled: args.deletionProtection ?? false,
          serverSideEncryption: { enabled: true },
        },
        args.transform?.table,
      ),
      { parent: this },
    );

    this.handler = createHandlerFunction(
      `${name}-function`,
      {
        entry: AUTHORIZER_HANDLER.entry,
        purpose: "authorizer",
        description: AUTHORIZER_HANDLER.description,
        environment: { [ENV.apiKeysTable]: this.keysTable.name },
        grants: [{ Effect: "Allow", Action: [...AUTHORIZER_HANDLER.apiKeysTableActions], Resource: [this.keysTable.arn] }],
        memoryMb: AUTHORIZER_HANDLER.memoryMb,
        timeoutSeconds: AUTHORIZER_HANDLER.timeoutSeconds,
        logRetentionDays: args.logRetentionDays ?? 14,
        logKey: args.logKey,
        tracing: args.tracing ?? false,
        ...(args.reservedConcurrency === undefined ? {} : { reservedConcurrency: args.reservedConcurrency }),
        transform: args.transform,
      },
      this,
    );

    this.authorizer = new aws.apigatewayv2.Authorizer(
      `${name}-authorizer`,
      applyTransform<aws.apigatewayv2.AuthorizerArgs>(
        {
          apiId: args.api.id,
          name: physicalName("api-key", "apiAuthorizer"),
          authorizerType: "REQUEST",
          authorizerUri: this.handler.function.invokeArn,
          authorizerPayloadFormatVersion: "2.0",
          enableSimpleResponses: true,
          identitySources: [IDENTITY_SOURCE],
          authorizerResultTtlInSeconds: cacheTtlSeconds,
        },
        args.transform?.authorizer,
      ),
      { parent: this },
    );

    this.permission = new aws.lambda.Permission(
      `${name}-invoke`,
      {
        action: "lambda:InvokeFunction",
        function: this.handler.function.name,
        principal: "apigateway.amazonaws.com",
        sourceArn: pulumi.interpolate`${args.api.executionArn}/authorizers/${this.authorizer.id}`,
      },
      { parent: this },
    );

    this.keysTableName = this.keysTable.name;
    this.authorizerId = this.authorizer.id;
    this.registerOutputs({ keysTableName: this.keysTableName, authorizerId: this.authorizerId });
  }
}
