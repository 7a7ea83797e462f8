locals {
  bucket_arn = "arn:aws:s3:::${var.bucket_name}"
}

data "aws_iam_policy_document" "ecs_worker_task_assume_role_policy_document" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# What the worker itself sends to AWS, and nothing else: spec/deploy/deploy.spec.ts derives the actions from the
# AWS SDK commands that src/ constructs, so a new call without its permission here fails the suite.
data "aws_iam_policy_document" "ecs_worker_task_role_permissions_policy_document" {
  statement {
    sid       = "TakeSubmissionMessages"
    effect    = "Allow"
    actions   = ["sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage"]
    resources = [data.aws_sqs_queue.submissions.arn]
  }

  statement {
    sid     = "ReadTasksDataAndSubmissions"
    effect  = "Allow"
    actions = ["s3:GetObject"]
    resources = [
      "${local.bucket_arn}/evaluation_scripts/*",
      "${local.bucket_arn}/data_files/*",
      "${local.bucket_arn}/submission_files/*",
    ]
  }

  # The worker lists a task's evaluation_scripts/<analysis>/. And S3 answers a GetObject of a missing key with 404
  # only to a principal that may list the bucket (403 otherwise): the worker tells a missing data file (wr_10) or
  # reference (wr_9) from a failure of S3 (wr_2, retried) by that 404.
  statement {
    sid       = "ListBucket"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]
  }

  statement {
    sid     = "WriteResultsAndLogs"
    effect  = "Allow"
    actions = ["s3:PutObject"]
    resources = [
      "${local.bucket_arn}/submission_files/submission_user_*/submission_*/results/*",
      "${local.bucket_arn}/submission_files/submission_user_*/submission_*/logs/*",
    ]
  }

  statement {
    sid       = "ReadApiCredentials"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [data.aws_secretsmanager_secret.worker_credentials.arn]
  }
}

resource "aws_iam_role" "ecs_worker_task_role" {
  name               = "valhub-ecs-worker-task-role"
  assume_role_policy = data.aws_iam_policy_document.ecs_worker_task_assume_role_policy_document.json
  tags               = var.project_tags
}

resource "aws_iam_role_policy" "ecs_worker_task_role_policy" {
  name   = "valhub-ecs-worker-task-role-policy"
  role   = aws_iam_role.ecs_worker_task_role.id
  policy = data.aws_iam_policy_document.ecs_worker_task_role_permissions_policy_document.json
}

# The ECS agent's role for this task: pull the image from ECR, write the container's output to the log group.
resource "aws_iam_role" "ecs_worker_task_execution_role" {
  name               = "valhub-ecs-worker-task-execution-role"
  assume_role_policy = data.aws_iam_policy_document.ecs_worker_task_assume_role_policy_document.json
  tags               = var.project_tags
}

resource "aws_iam_role_policy_attachment" "ecs_worker_task_execution_role_policy_attachment" {
  role       = aws_iam_role.ecs_worker_task_execution_role.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}
