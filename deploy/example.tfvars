# Copy to terraform.tfvars and fill in: the Hub's network and the image the deploy workflow pushed.
worker_image       = "<account>.dkr.ecr.us-west-2.amazonaws.com/valhub-worker:<tag>"
private_subnet_ids = ["subnet-..."]
ecs_worker_sg_id   = "sg-..."
project_tags = {
  Project = "pv-validation-hub"
}
