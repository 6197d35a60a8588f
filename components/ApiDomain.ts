/**
 * ApiDomain: a custom domain for the HTTP API in a Route 53 hosted zone you own. An ACM
 * certificate validated through DNS (its validation record goes in the same zone), the regional
 * API Gateway domain name, the mapping of the API's stage onto it, and the alias record that
 * points the name at API Gateway. Created by EventIngestionApi when `domain` is set.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { applyTransform, type Transform } from "./naming";

export interface ApiDomainArgs {
  /**
   * The fully qualified name clients call.
   * @example "events.example.com"
   */
  domainName: string;
  /** The Route 53 public hosted zone that holds `domainName` (and gets the validation record). */
  hostedZoneId: pulumi.Input<string>;
  apiId: pulumi.Input<string>;
  /** The stage mapped at the root of the domain. */
  stage: pulumi.Input<string>;
  transform?: {
    certificate?: Transform<aws.acm.CertificateArgs>;
    domainName?: Transform<aws.apigatewayv2.DomainNameArgs>;
  };
}

/** One or more DNS labels of letters, digits and hyphens, with a top-level domain of letters. */
const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Fails with a message naming `argument` unless `domainName` is a fully qualified lower-case name. */
export function requireDomainName(component: string, argument: string, domainName: string): string {
  if (!DOMAIN_NAME.test(domainName)) {
    throw new Error(`${component}: ${argument} must be a lower-case fully qualified name like events.example.com, got "${domainName}"`);
  }
  return domainName;
}

export class ApiDomain extends pulumi.ComponentResource {
  readonly certificate: aws.acm.Certificate;
  readonly validationRecord: aws.route53.Record;
  readonly certificateValidation: aws.acm.CertificateValidation;
  readonly domainName: aws.apigatewayv2.DomainName;
  readonly apiMapping: aws.apigatewayv2.ApiMapping;
  readonly aliasRecord: aws.route53.Record;
  /** `https://<domainName>` */
  readonly url: string;

  constructor(name: string, args: ApiDomainArgs, opts?: pulumi.ComponentResourceOptions) {
    super("event-ingestion:index:ApiDomain", name, args, opts);
    requireDomainName("ApiDomain", "domainName", args.domainName);
    const parent = { parent: this };

    this.certificate = new aws.acm.Certificate(
      `${name}-certificate`,
      applyTransform<aws.acm.CertificateArgs>({ domainName: args.domainName, validationMethod: "DNS" }, args.transform?.certificate),
      parent,
    );

    // One name, so ACM asks for exactly one validation record.
    const validation = this.certificate.domainValidationOptions.apply((options) => options[0]!);
    this.validationRecord = new aws.route53.Record(
      `${name}-validation`,
      {
        zoneId: args.hostedZoneId,
        name: validation.resourceRecordName,
        type: validation.resourceRecordType,
        records: [validation.resourceRecordValue],
        ttl: 300,
        // A certificate re-created for the same name asks for the same record.
        allowOverwrite: true,
      },
      parent,
    );

    this.certificateValidation = new aws.acm.CertificateValidation(
      `${name}-certificate-validation`,
      { certificateArn: this.certificate.arn, validationRecordFqdns: [this.validationRecord.fqdn] },
      parent,
    );

    this.domainName = new aws.apigatewayv2.DomainName(
      `${name}-name`,
      applyTransform<aws.apigatewayv2.DomainNameArgs>(
        {
          domainName: args.domainName,
          domainNameConfiguration: {
            // The validated ARN: API Gateway accepts only an issued certificate.
            certificateArn: this.certificateValidation.certificateArn,
            endpointType: "REGIONAL",
            securityPolicy: "TLS_1_2",
          },
        },
        args.transform?.domainName,
      ),
      parent,
    );

    this.apiMapping = new aws.apigatewayv2.ApiMapping(
      `${name}-mapping`,
      { apiId: args.apiId, domainName: this.domainName.domainName, stage: args.stage },
      parent,
    );

    const target = this.domainName.domainNameConfiguration;
    this.aliasRecord = new aws.route53.Record(
      `${name}-alias`,
      {
        zoneId: args.hostedZoneId,
        name: args.domainName,
        type: "A",
        aliases: [{ name: target.targetDomainName.apply((t) => t!), zoneId: target.hostedZoneId.apply((z) => z!), evaluateTargetHealth: false }],
      },
      parent,
    );

    this.url = `https://${args.domainName}`;
    this.registerOutputs({ url: this.url, domainName: args.domainName });
  }
}
