# A monitor probes each origin of a pool at the origin's own address: a Host
# header or a path cannot send the probe elsewhere. The origins must be the
# engines' Stratum addresses (they are what DNS answers), so the probe is a TCP
# connect to the Stratum port on that address. The engine opens Stratum only
# once it has its first template.
resource "cloudflare_load_balancer_monitor" "stratum_tcp" {
  account_id       = var.account_id
  description      = "tbg stratum tcp ${local.stratum_port}"
  type             = "tcp"
  method           = "connection_established"
  port             = local.stratum_port
  interval         = local.check_interval
  timeout          = 5
  retries          = 1
  consecutive_down = local.failure_threshold
  consecutive_up   = local.failure_threshold
}

resource "cloudflare_load_balancer_pool" "region" {
  for_each        = var.region_ips
  account_id      = var.account_id
  name            = "tbg-${each.key}"
  monitor         = cloudflare_load_balancer_monitor.stratum_tcp.id
  minimum_origins = 1

  origins {
    name    = "ckpool-${each.key}"
    address = each.value
    enabled = true
  }
}

resource "cloudflare_load_balancer" "mine" {
  zone_id = var.zone_id
  name    = var.domain
  # DNS-only: Cloudflare's proxy does not carry raw TCP on 3333 without Spectrum.
  proxied         = false
  ttl             = local.ttl
  steering_policy = "geo"
  default_pool_ids = [
    for p in local.failover_order["eu"] : cloudflare_load_balancer_pool.region[p].id
  ]
  # Answered when every pool is unhealthy.
  fallback_pool_id = cloudflare_load_balancer_pool.region["eu"].id

  dynamic "region_pools" {
    for_each = local.steering
    content {
      region = region_pools.key
      pool_ids = [
        for p in local.failover_order[region_pools.value] : cloudflare_load_balancer_pool.region[p].id
      ]
    }
  }
}
