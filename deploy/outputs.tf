output "worker_task_family" {
  description = "The task family the deploy workflow registers new revisions in"
  value       = aws_ecs_task_definition.ecs_worker_task_definition.family
}

output "worker_container_name" {
  description = "The container whose image the deploy workflow renders"
  value       = var.worker_container_name
}

output "worker_service_name" {
  description = "The service the deploy workflow updates"
  value       = aws_ecs_service.ecs_worker_service.name
}

output "worker_log_group_name" {
  description = "The worker's CloudWatch log group (JSON lines, one object per log line)"
  value       = aws_cloudwatch_log_group.ecs_worker_log_group.name
}

output "worker_task_role_arn" {
  description = "The worker's task role"
  value       = aws_iam_role.ecs_worker_task_role.arn
}
