/**
 * The AWS CLI commands the local stack prints (start-up banner) and docs/LOCAL.md shows: each with
 * a region and dummy credentials in front, as the README's DynamoDB example has them. Without a
 * region the CLI refuses to run; without credentials it fails, or worse, signs with the user's
 * real ones and sends them to a local endpoint. test/local/awsCliCommands.test.ts runs them.
 */
import { LOCAL_CREDENTIALS, LOCAL_REGION } from "./stack";

/** `AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws --region eu-north-1` */
export const AWS_CLI_PREFIX = `AWS_ACCESS_KEY_ID=${LOCAL_CREDENTIALS.accessKeyId} AWS_SECRET_ACCESS_KEY=${LOCAL_CREDENTIALS.secretAccessKey} aws --region ${LOCAL_REGION}`;

/** The example payment the banner publishes. */
export const EXAMPLE_PAYMENT = '{"event_type":"payment.succeeded","payload":{"payment_id":"pay_1","amount":125000,"currency":"EUR","country":"SE","card_country":"SE"}}';

export function snsPublishCommand(snsEndpoint: string, topicArn: string, message = EXAMPLE_PAYMENT): string {
  return `${AWS_CLI_PREFIX} sns publish --endpoint-url ${snsEndpoint} --topic-arn ${topicArn} --message '${message}'`;
}

export function sqsQueueAttributesCommand(sqsEndpoint: string, queueUrl: string): string {
  return `${AWS_CLI_PREFIX} sqs get-queue-attributes --endpoint-url ${sqsEndpoint} --queue-url ${queueUrl} --attribute-names All`;
}
