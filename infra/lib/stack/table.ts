// The table (docs/aws.md, "Table") and the grants on it.
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CUSTOMER_INDEX, DUE_INDEX } from '../routing';
import { StackContext } from './context';

export interface TableResources {
  readonly table: dynamodb.Table;
  /** ARN of the `due` index (the alarm setter's). */
  readonly indexArn: string;
  /** ARN of the `customer` index. */
  readonly customerIndexArn: string;
}

export function createTable(ctx: StackContext): TableResources {
  const table = new dynamodb.Table(ctx.stack, 'Table', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    timeToLiveAttribute: 'ttl',
    deletionProtection: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  table.addGlobalSecondaryIndex({
    indexName: DUE_INDEX,
    partitionKey: { name: 'gsi1pk', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'gsi1sk', type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.ALL,
  });
  // Follow-ups of one customer: an unsubscribe cancels them, an erasure deletes them.
  table.addGlobalSecondaryIndex({
    indexName: CUSTOMER_INDEX,
    partitionKey: { name: 'gsi2pk', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'gsi2sk', type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.ALL,
  });
  ctx.envValues.tableName = table.tableName;
  const indexArn = `${table.tableArn}/index/${DUE_INDEX}`;
  const customerIndexArn = `${table.tableArn}/index/${CUSTOMER_INDEX}`;
  return { table, indexArn, customerIndexArn };
}

export function grantTable(role: iam.Role, sid: string, resources: string[], actions: string[]): void {
  role.addToPrincipalPolicy(new iam.PolicyStatement({ sid, actions, resources }));
}
