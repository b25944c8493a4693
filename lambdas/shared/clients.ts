import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * AWS clients, created once per Lambda container and shared by every invocation. Endpoints come
 * from the standard AWS configuration (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SFN`,
 * `AWS_ENDPOINT_URL_SESV2`), which is how the local stack points them at its engines; the code
 * is the same in AWS.
 */
export const dynamoDocumentClient = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
export const sfnClient = new SFNClient({});
export const sesClient = new SESv2Client({});
