# One verdict per region: healthy when the monitor says so OR the region's
# Stratum port accepts TCP, so a dead monitor alone never removes a region.

resource "aws_route53_health_check" "monitor" {
  for_each          = local.regions
  type              = "HTTPS"
  fqdn              = var.monitor_host
  port              = local.monitor_port
  resource_path     = "/health/${each.value.monitor_region}"
  enable_sni        = true
  request_interval  = local.check_interval
  failure_threshold = local.failure_threshold
  tags              = { Name = "tbg-${each.key}-monitor" }
}

resource "aws_route53_health_check" "stratum_tcp" {
  for_each          = local.regions
  type              = "TCP"
  ip_address        = var.region_ips[each.key]
  port              = local.stratum_port
  request_interval  = local.check_interval
  failure_threshold = local.failure_threshold
  tags              = { Name = "tbg-${each.key}-stratum" }
}

resource "aws_route53_health_check" "region" {
  for_each               = local.regions
  type                   = "CALCULATED"
  child_health_threshold = 1
  child_healthchecks = [
    aws_route53_health_check.monitor[each.key].id,
    aws_route53_health_check.stratum_tcp[each.key].id,
  ]
  tags = { Name = "tbg-${each.key}" }
}
