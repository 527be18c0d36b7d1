# GeoDNS for mine.thebitcoingame.com on AWS Route53 (docs/geodns/route53-setup.md).
terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

# Route53 is global; the provider still wants a region for its API calls.
provider "aws" {
  region = var.aws_region
}
