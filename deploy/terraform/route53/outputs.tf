output "region_health_check_ids" {
  description = "The calculated health check of each region (invert one to drain it)."
  value       = { for k, hc in aws_route53_health_check.region : k => hc.id }
}
