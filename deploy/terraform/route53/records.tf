# Per-region names: plain A records, no health logic (miners' backup pools).
resource "aws_route53_record" "direct" {
  for_each = local.regions
  zone_id  = var.zone_id
  name     = "${each.key}.${var.domain}"
  type     = "A"
  ttl      = local.ttl
  records  = [var.region_ips[each.key]]
}

# The failover chain of each location, two failover pairs deep:
#   failover-<loc>       PRIMARY = 1st region, SECONDARY = alias to failover-<loc>-next
#   failover-<loc>-next  PRIMARY = 2nd region, SECONDARY = 3rd region
# Route53 answers with a SECONDARY only while it is healthy; when every record
# of a pair is unhealthy it treats them all as healthy and answers the PRIMARY.
# The alias with evaluate_target_health makes a dead 2nd region hand on to the
# 3rd instead of being answered.
resource "aws_route53_record" "first" {
  for_each        = local.failover_order
  zone_id         = var.zone_id
  name            = "failover-${each.key}.${var.domain}"
  type            = "A"
  ttl             = local.ttl
  set_identifier  = "${each.key}-first"
  records         = [var.region_ips[each.value[0]]]
  health_check_id = aws_route53_health_check.region[each.value[0]].id

  failover_routing_policy {
    type = "PRIMARY"
  }
}

resource "aws_route53_record" "next_pair" {
  for_each       = local.failover_order
  zone_id        = var.zone_id
  name           = "failover-${each.key}.${var.domain}"
  type           = "A"
  set_identifier = "${each.key}-next"

  alias {
    name                   = "failover-${each.key}-next.${var.domain}"
    zone_id                = var.zone_id
    evaluate_target_health = true
  }

  failover_routing_policy {
    type = "SECONDARY"
  }
}

resource "aws_route53_record" "second" {
  for_each        = local.failover_order
  zone_id         = var.zone_id
  name            = "failover-${each.key}-next.${var.domain}"
  type            = "A"
  ttl             = local.ttl
  set_identifier  = "${each.key}-second"
  records         = [var.region_ips[each.value[1]]]
  health_check_id = aws_route53_health_check.region[each.value[1]].id

  failover_routing_policy {
    type = "PRIMARY"
  }
}

resource "aws_route53_record" "third" {
  for_each        = local.failover_order
  zone_id         = var.zone_id
  name            = "failover-${each.key}-next.${var.domain}"
  type            = "A"
  ttl             = local.ttl
  set_identifier  = "${each.key}-third"
  records         = [var.region_ips[each.value[2]]]
  health_check_id = aws_route53_health_check.region[each.value[2]].id

  failover_routing_policy {
    type = "SECONDARY"
  }
}

# mine.thebitcoingame.com: the query's continent picks a location's chain.
resource "aws_route53_record" "mine" {
  for_each       = { for g in local.geo : g.id => g }
  zone_id        = var.zone_id
  name           = var.domain
  type           = "A"
  set_identifier = "geo-${each.key}"

  alias {
    name                   = "failover-${each.value.target}.${var.domain}"
    zone_id                = var.zone_id
    evaluate_target_health = true
  }

  geolocation_routing_policy {
    continent = each.value.continent
  }
}

# Queries from a location no record matches (and resolvers Route53 cannot place).
resource "aws_route53_record" "mine_default" {
  zone_id        = var.zone_id
  name           = var.domain
  type           = "A"
  set_identifier = "geo-default"

  alias {
    name                   = "failover-eu.${var.domain}"
    zone_id                = var.zone_id
    evaluate_target_health = true
  }

  geolocation_routing_policy {
    country = "*"
  }
}
