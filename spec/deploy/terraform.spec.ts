import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/config.js';
import type { Job } from '../../src/domain/job.js';
import { s3Keys } from '../../src/domain/s3-keys.js';
import { ROOT } from '../helpers/cli.js';
import { type Body, readTerraform, reference, type TerraformModule, withDefaults } from '../helpers/terraform.js';

/**
 * deploy/, the Terraform module of the worker's ECS service, read with a real HCL parser and held against the code:
 * the task role may do exactly what src/ sends to AWS (found by scanning src/ for the AWS SDK commands it
 * constructs), on the one queue, the one secret and the bucket's prefixes of contract §4; the task runs the image
 * as the worker needs (socket, work folder at the same path, production settings its own loadConfig accepts).
 */

const SRC = path.join(ROOT, 'src');
const deploy = await readTerraform(path.join(ROOT, 'deploy'));

interface SdkCall {
  /** The IAM service prefix of the client package: @aws-sdk/client-secrets-manager → secretsmanager. */
  readonly service: string;
  /** The command's class without "Command": ReceiveMessage. */
  readonly operation: string;
  readonly file: string;
}

/**
 * Every \`new XCommand(…)\` of a class imported from an @aws-sdk/client-* package: named imports (aliases included)
 * and namespace imports (\`new sqs.XCommand(…)\`). Read from the text, not compiled: the compiler alone would take
 * the fast lane's whole time to load. A comment that reads like a call counts too, and fails loudly, never silently.
 */
function sdkCallsIn(file: string, text: string): SdkCall[] {
  const serviceOf = (client: string) => client.replaceAll('-', '');
  const named = new Map<string, { service: string; operation: string }>();
  const namespaces = new Map<string, string>();
  for (const [, clause = '', client = ''] of text.matchAll(
    /import\s+(?!type\b)([^;]*?)\s+from\s+['"]@aws-sdk\/client-([\w-]+)['"]/g,
  )) {
    const namespace = /^\*\s+as\s+(\w+)$/.exec(clause.trim())?.[1];
    if (namespace !== undefined) namespaces.set(namespace, serviceOf(client));
    for (const binding of /\{([^}]*)\}/.exec(clause)?.[1]?.split(',') ?? []) {
      const [exported = '', local = exported] = binding
        .replace(/^\s*type\s+/, '')
        .trim()
        .split(/\s+as\s+/);
      const operation = /^(\w+)Command$/.exec(exported)?.[1];
      if (operation !== undefined && !/^\s*type\s/.test(binding))
        named.set(local, { service: serviceOf(client), operation });
    }
  }
  const calls: SdkCall[] = [];
  for (const [, namespace, name = ''] of text.matchAll(/\bnew\s+(?:(\w+)\.)?(\w+)\s*\(/g)) {
    const service = namespace === undefined ? undefined : namespaces.get(namespace);
    const operation = /^(\w+)Command$/.exec(name)?.[1];
    if (service !== undefined && operation !== undefined) calls.push({ service, operation, file });
    const command = namespace === undefined ? named.get(name) : undefined;
    if (command !== undefined) calls.push({ ...command, file });
  }
  return calls;
}

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(folder, entry.name);
    return entry.isDirectory() ? sourceFiles(full) : entry.name.endsWith('.ts') ? [full] : [];
  });
}

const calls = sourceFiles(SRC).flatMap((file) => sdkCallsIn(path.relative(ROOT, file), readFileSync(file, 'utf8')));

/** Where IAM names the permission of an operation otherwise than the operation itself. */
const PERMISSION_OF: Record<string, string> = { 's3:ListObjectsV2': 's3:ListBucket' };
const permissionOf = (call: SdkCall) =>
  PERMISSION_OF[`${call.service}:${call.operation}`] ?? `${call.service}:${call.operation}`;

function only(blocks: Record<string, Body> | undefined, what: string): [string, Body] {
  const entries = Object.entries(blocks ?? {});
  assert.is(entries.length, 1, `one ${what}`);
  return entries[0] as [string, Body];
}

const [, taskDefinition] = only(deploy.resources['aws_ecs_task_definition'], 'task definition');
const taskEnvironment = Object.fromEntries(
  Object.entries(deploy.locals['worker_environment'] as Body).map(([name, value]) => [
    name,
    String(withDefaults(deploy, value)),
  ]),
);
const taskConfig = loadConfig(taskEnvironment);

/** Operations the code sends only under a setting, and whether the task's configuration turns it on. */
const SENT_ONLY_WHEN: Record<string, boolean> = { 'sqs:CreateQueue': taskConfig.aws.createQueue };

interface Statement {
  readonly sid: string;
  readonly effect: string;
  readonly actions: string[];
  readonly resources: string[];
  readonly condition?: unknown;
}

/** The statements of every policy the task role has: its inline policies; a managed policy would be a failure. */
function taskRoleStatements(m: TerraformModule): Statement[] {
  const role = reference(taskDefinition['task_role_arn'])?.replace(/\.arn$/, '');
  assert.ok(
    role?.startsWith('aws_iam_role.'),
    `the task role is a role of this module (${String(taskDefinition['task_role_arn'])})`,
  );
  const ofRole = (body: Body) => reference(body['role'])?.replace(/\.(id|name)$/, '') === role;
  assert.equal(
    Object.values(m.resources['aws_iam_role_policy_attachment'] ?? {}).filter(ofRole),
    [],
    'no managed policy on the task role',
  );
  const policies = Object.values(m.resources['aws_iam_role_policy'] ?? {}).filter(ofRole);
  assert.ok(policies.length > 0, 'the task role has a policy');
  return policies.flatMap((policy) => {
    const document = reference(policy['policy'])?.match(/^data\.aws_iam_policy_document\.(\w+)\.json$/)?.[1];
    const body = m.data['aws_iam_policy_document']?.[document ?? ''];
    assert.ok(body, `the policy is an aws_iam_policy_document of this module (${String(policy['policy'])})`);
    return body['statement'] as Statement[];
  });
}

const statements = taskRoleStatements(deploy);
const bucketArn = String(withDefaults(deploy, deploy.locals['bucket_arn']));
const resolveArn = (resource: string) => resource.replace('${local.bucket_arn}', bucketArn);
const resourcesOf = (action: string) =>
  statements.filter((s) => s.actions.includes(action)).flatMap((s) => s.resources.map(resolveArn));
/** An IAM resource pattern: * matches any run of characters, "/" included. */
const matches = (pattern: string, arn: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(arn);

test('the scan finds AWS SDK commands however they are imported (aliases, namespaces), and nothing else', () => {
  const found = sdkCallsIn(
    'example.ts',
    `import { GetObjectCommand, PutObjectCommand as Put, S3Client } from '@aws-sdk/client-s3';
     import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
     import * as sqs from '@aws-sdk/client-sqs';
     import type { ListObjectsV2Command } from '@aws-sdk/client-s3';
     import { DeleteMessageCommand } from './not-the-sdk.js';
     const client = new S3Client({});
     await client.send(new Put({ Bucket: 'b', Key: 'k' }));
     await secrets.send(new GetSecretValueCommand({ SecretId: 's' }));
     await queue.send(new sqs.ReceiveMessageCommand({}));
     await queue.send(new DeleteMessageCommand({}));`,
  );
  assert.equal(found.map(permissionOf), ['s3:PutObject', 'secretsmanager:GetSecretValue', 'sqs:ReceiveMessage']);
  assert.ok(calls.length >= 5, `src/ sends AWS SDK commands (${calls.length} found)`);
});

test('the task role may do exactly what src/ sends to AWS: one action per SDK command, nothing more', () => {
  const needed = [...new Set(calls.map(permissionOf).filter((action) => SENT_ONLY_WHEN[action] ?? true))].sort();
  const granted = [...new Set(statements.flatMap((s) => s.actions))].sort();
  const sentFrom = (action: string) => calls.filter((call) => permissionOf(call) === action).map((call) => call.file);
  for (const action of needed)
    assert.ok(granted.includes(action), `${action} (sent from ${sentFrom(action).join(', ')}) is granted`);
  assert.equal(granted, needed, 'no permission the code does not use');
  assert.is(taskConfig.aws.createQueue, false, 'the task never creates the queue: the Hub does');
  for (const statement of statements) {
    assert.is(statement.effect, 'Allow');
    assert.ok(
      statement.resources.length > 0 && statement.resources.every((resource) => resource !== '*'),
      `${statement.sid} names its resources`,
    );
  }
});

test('each permission on its one resource: the queue, the secret, the read prefixes of §4, the results and logs', () => {
  const queue = only(deploy.data['aws_sqs_queue'], 'queue');
  const secret = only(deploy.data['aws_secretsmanager_secret'], 'secret');
  assert.is(
    withDefaults(deploy, queue[1]['name']),
    taskConfig.aws.queueName,
    'the queue the worker is configured with',
  );
  assert.is(
    withDefaults(deploy, secret[1]['name']),
    taskConfig.hub.credentialsSecret,
    'the secret the worker is configured with',
  );
  for (const s of statements.filter((statement) => statement.actions.some((action) => action.startsWith('sqs:')))) {
    assert.equal(s.resources, [`\${data.aws_sqs_queue.${queue[0]}.arn}`]);
  }
  for (const s of statements.filter((statement) =>
    statement.actions.some((action) => action.startsWith('secretsmanager:')),
  )) {
    assert.equal(s.resources, [`\${data.aws_secretsmanager_secret.${secret[0]}.arn}`]);
  }
  assert.is(bucketArn, `arn:aws:s3:::${taskConfig.aws.bucket}`, 'the bucket the worker is configured with');
  assert.equal(resourcesOf('s3:ListBucket'), [bucketArn]);
  assert.equal(
    resourcesOf('s3:GetObject').sort(),
    ['data_files/*', 'evaluation_scripts/*', 'submission_files/*'].map((prefix) => `${bucketArn}/${prefix}`),
  );

  const job: Job = {
    analysisId: 7,
    submissionId: 42,
    userId: 'b0e1c7a2-5d3f-4c59-9b1e-0c6a9d2f4e10',
    submissionFilename: 'x_sub.zip',
    pythonVersion: '3.11',
  };
  const arn = (key: string) => `${bucketArn}/${key}`;
  const read = [
    `${s3Keys.taskScriptsPrefix(job.analysisId)}config.json`,
    s3Keys.dataFile('a.csv'),
    s3Keys.reference(job.analysisId, 'a.csv'),
    s3Keys.submissionArchive(job),
  ];
  const written = [
    s3Keys.result(job, 'files/a.csv'),
    s3Keys.result(job, 'time-shift-public-metrics.json'),
    s3Keys.log(job, 'submission.log'),
  ];
  for (const key of read)
    assert.ok(
      resourcesOf('s3:GetObject').some((pattern) => matches(pattern, arn(key))),
      `may read ${key}`,
    );
  for (const key of read)
    assert.not.ok(
      resourcesOf('s3:PutObject').some((pattern) => matches(pattern, arn(key))),
      `may not write ${key}`,
    );
  for (const key of written)
    assert.ok(
      resourcesOf('s3:PutObject').some((pattern) => matches(pattern, arn(key))),
      `may write ${key}`,
    );
  assert.not.ok(
    resourcesOf('s3:PutObject').some((pattern) =>
      matches(pattern, arn('submission_files/submission_user_u/submission_1/other')),
    ),
  );
});

test('the task definition: EC2, the socket and the work folder at the same path, memory reserved, production settings', () => {
  assert.equal(taskDefinition['requires_compatibilities'], ['EC2']);
  assert.is(taskDefinition['container_definitions'], '${jsonencode([local.worker_container])}');
  const container = deploy.locals['worker_container'] as Body;
  const volumes = Object.fromEntries(
    (taskDefinition['volume'] as Body[]).map((volume) => [volume['name'], volume['host_path']]),
  );
  const mounts = Object.fromEntries(
    (container['mountPoints'] as Body[]).map((mount) => [mount['sourceVolume'], mount['containerPath']]),
  );
  assert.equal(Object.keys(mounts).sort(), Object.keys(volumes).sort(), 'every volume mounted');
  for (const [name, hostPath] of Object.entries(volumes))
    assert.is(mounts[name], hostPath, `${name} at the same path inside as on the instance`);
  assert.ok(Object.values(volumes).includes('/var/run/docker.sock'), "the instance's Docker socket");
  assert.is(taskConfig.workDir, withDefaults(deploy, volumes['work']), 'PVHUB_WORK_DIR is the mounted work folder');

  assert.ok(taskConfig.production, 'PROD: AWS itself');
  assert.is(taskConfig.aws.sqsEndpoint, undefined);
  assert.equal(taskConfig.aws.objectStore, { kind: 's3' });
  assert.is(taskConfig.hub.username, undefined, 'no credentials in the environment: they come from the secret');
  const reservation = Number(withDefaults(deploy, container['memoryReservation']));
  const hardLimit = Number(withDefaults(deploy, container['memory']));
  assert.ok(reservation > 0 && reservation <= hardLimit, 'memory reserved for placement, within the hard limit');
  assert.ok(
    hardLimit * 2 ** 20 - taskConfig.limits.memoryReserveBytes >= taskConfig.limits.containerMemoryBytes,
    'the task memory admits one submission container',
  );
});

test('the service runs it on the worker capacity provider, one per instance, and the log group takes its output', () => {
  const [, service] = only(deploy.resources['aws_ecs_service'], 'service');
  const [logGroupName] = only(deploy.resources['aws_cloudwatch_log_group'], 'log group');
  assert.match(String(service['task_definition']), /^\$\{aws_ecs_task_definition\.\w+\.arn\}$/);
  assert.is((service['capacity_provider_strategy'] as Body[]).length, 1);
  assert.equal(service['placement_constraints'], [{ type: 'distinctInstance' }]);
  const logging = (deploy.locals['worker_container'] as { logConfiguration: { logDriver: string; options: Body } })
    .logConfiguration;
  assert.is(logging.logDriver, 'awslogs');
  assert.is(logging.options['awslogs-group'], `\${aws_cloudwatch_log_group.${logGroupName}.name}`);
});

test.run();
