# The worker as the Hub runs it: one container per ECS task on the worker instances (EC2 launch type, the Hub's
# autoscaling group and capacity provider), driving the instance's Docker engine through its socket. The task
# takes one submission and exits 0; the service starts a clean task in its place.

data "aws_ecs_cluster" "worker_cluster" {
  cluster_name = var.ecs_worker_cluster_name
}

# Made by the Hub (its sqs/ module); the worker never creates it (PVHUB_CREATE_QUEUE=false below).
data "aws_sqs_queue" "submissions" {
  name = var.queue_name
}

data "aws_secretsmanager_secret" "worker_credentials" {
  name = var.credentials_secret_name
}

resource "aws_cloudwatch_log_group" "ecs_worker_log_group" {
  name              = "/ecs/${var.worker_task_family}"
  retention_in_days = var.log_retention_days
  tags              = var.project_tags
}

locals {
  # Everything the worker reads (README, Configuration); the rest keeps the worker's production defaults.
  worker_environment = {
    PROD                            = "true"
    AWS_DEFAULT_REGION              = var.aws_region
    PVHUB_QUEUE_NAME                = var.queue_name
    PVHUB_CREATE_QUEUE              = "false"
    S3_BUCKET_NAME                  = var.bucket_name
    PVHUB_API_URL                   = var.api_url
    PVHUB_CREDENTIALS_SECRET        = var.credentials_secret_name
    PVHUB_CREDENTIALS_SECRET_REGION = var.aws_region
    PVHUB_WORK_DIR                  = var.worker_work_dir
    PVHUB_CONTAINER_MEMORY          = var.submission_container_memory
    LOG_LEVEL                       = var.log_level
  }

  worker_container = {
    name              = var.worker_container_name
    image             = var.worker_image
    essential         = true
    cpu               = var.worker_cpu_units
    memory            = var.worker_memory_size
    memoryReservation = var.worker_memory_reservation_size
    # On SIGTERM the worker removes its job's containers and gives the message back before it exits.
    stopTimeout = 120
    environment = [for name in sort(keys(local.worker_environment)) : { name = name, value = local.worker_environment[name] }]
    mountPoints = [
      { sourceVolume = "docker_socket", containerPath = "/var/run/docker.sock", readOnly = false },
      # The same path inside as on the instance: the worker's bind mounts name instance paths.
      { sourceVolume = "work", containerPath = var.worker_work_dir, readOnly = false },
    ]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.ecs_worker_log_group.name
        awslogs-region        = var.aws_region
        awslogs-stream-prefix = var.worker_container_name
      }
    }
  }
}

resource "aws_ecs_task_definition" "ecs_worker_task_definition" {
  family                   = var.worker_task_family
  requires_compatibilities = ["EC2"]
  network_mode             = "awsvpc"
  task_role_arn            = aws_iam_role.ecs_worker_task_role.arn
  execution_role_arn       = aws_iam_role.ecs_worker_task_execution_role.arn
  container_definitions    = jsonencode([local.worker_container])

  volume {
    name      = "docker_socket"
    host_path = "/var/run/docker.sock"
  }

  volume {
    name      = "work"
    host_path = var.worker_work_dir
  }

  tags = var.project_tags
}

resource "aws_ecs_service" "ecs_worker_service" {
  name                               = var.worker_service_name
  cluster                            = data.aws_ecs_cluster.worker_cluster.arn
  task_definition                    = aws_ecs_task_definition.ecs_worker_task_definition.arn
  desired_count                      = var.worker_service_desired_count
  scheduling_strategy                = "REPLICA"
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100

  capacity_provider_strategy {
    capacity_provider = var.worker_capacity_provider_name
    weight            = 1
  }

  # A worker uses every core and the memory of its instance for one submission at a time. Workers sharing an
  # instance would be safe too (each removes only its own containers and those of dead workers), only slower.
  placement_constraints {
    type = "distinctInstance"
  }

  network_configuration {
    subnets         = var.private_subnet_ids
    security_groups = [var.ecs_worker_sg_id]
  }

  # The deploy workflow registers each new image as a revision of the task family and points the service at it.
  lifecycle {
    ignore_changes = [task_definition]
  }

  tags = var.project_tags
}
