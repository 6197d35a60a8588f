// Stands in for the AWS SDK packages the handlers import, so that a bundle's init can be timed
// without the SDK: the floor a smaller DynamoDB client could approach. Never deployed.
class Stub {
  static from(client) {
    return client;
  }
  send() {
    throw new Error("no SDK in this build");
  }
  destroy() {}
}
export const DynamoDBClient = Stub;
export const DynamoDBDocumentClient = Stub;
export const GetCommand = Stub;
export const BatchGetCommand = Stub;
export const PutCommand = Stub;
export const BatchWriteCommand = Stub;
export const QueryCommand = Stub;
export const UpdateCommand = Stub;
export const NumberValueImpl = Stub;
