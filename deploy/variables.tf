variable "aws_region" {
  description = "AWS region of the queue, the bucket, the secret and the cluster"
  type        = string
  default     = "us-west-2"
}

variable "project_tags" {
  description = "Tags put on every resource of this module"
  type        = map(string)
  default     = {}
}

variable "ecs_worker_cluster_name" {
  description = "The ECS cluster of the worker instances (the Hub's autoscaling group registers them there)"
  type        = string
  default     = "valhub-worker-cluster"
}

variable "worker_capacity_provider_name" {
  description = "The capacity provider of the worker instances' autoscaling group"
  type        = string
  default     = "valhub-worker-capacity-provider"
}

variable "worker_task_family" {
  description = "The family of the worker's task definition (the deploy workflow registers new revisions in it)"
  type        = string
  default     = "valhub-worker-task"
}

variable "worker_container_name" {
  description = "The name of the worker's container in the task definition (the deploy workflow renders its image)"
  type        = string
  default     = "valhub-worker"
}

variable "worker_service_name" {
  description = "The name of the ECS service"
  type        = string
  default     = "valhub-worker-service"
}

variable "worker_image" {
  description = "The worker's image (Dockerfile.prod) in the Hub's ECR repository, with its tag"
  type        = string
}

variable "worker_service_desired_count" {
  description = "How many workers run; one per instance (each uses every core of its machine)"
  type        = number
  default     = 1
}

variable "worker_cpu_units" {
  description = "CPU units reserved for the task (1024 per vCPU); the worker uses every core it sees whatever this says"
  type        = number
  default     = 4096
}

variable "worker_memory_size" {
  description = "Hard memory limit of the task in MiB: the worker's cgroup limit, from which it sizes its containers"
  type        = number
  default     = 12288
}

variable "worker_memory_reservation_size" {
  description = "Memory in MiB that ECS reserves on the instance for the task when placing it"
  type        = number
  default     = 12288
}

variable "worker_work_dir" {
  description = "The worker's work folder on the instance, mounted at the same path in the container"
  type        = string
  default     = "/var/lib/pvhub-worker"
}

variable "submission_container_memory" {
  description = "Memory limit of each submission container (PVHUB_CONTAINER_MEMORY)"
  type        = string
  default     = "8g"
}

variable "queue_name" {
  description = "The Hub's submission queue (FIFO), made by the Hub"
  type        = string
  default     = "valhub_submission_queue.fifo"
}

variable "bucket_name" {
  description = "The Hub's bucket of tasks, data files, submissions and results"
  type        = string
  default     = "valhub-bucket"
}

variable "credentials_secret_name" {
  description = "The Secrets Manager secret holding the worker's Hub API credentials, JSON {\"username\",\"password\"}"
  type        = string
  default     = "valhub-worker-credentials"
}

variable "api_url" {
  description = "The Hub API's base URL"
  type        = string
  default     = "https://api-pv-validation-hub.stratus.nrel.gov"
}

variable "log_level" {
  description = "The worker's log level (LOG_LEVEL)"
  type        = string
  default     = "info"
}

variable "log_retention_days" {
  description = "Days the worker's CloudWatch logs are kept"
  type        = number
  default     = 90
}

variable "private_subnet_ids" {
  description = "The subnets of the worker tasks (awsvpc), with a route to the API, SQS, S3 and Secrets Manager"
  type        = list(string)
}

variable "ecs_worker_sg_id" {
  description = "The worker's security group (no inbound rule is needed)"
  type        = string
}
