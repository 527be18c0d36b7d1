# Every number the health checks and records use, in one place. The same
# values are in docs/geodns/health-checks.md and in the health monitor's
# defaults (functions/health/config.ts); tests/deploy/geodns_terraform_test.ts
# fails when they drift apart.
locals {
  stratum_port = 3333
  # The monitor serves GET /health/<region> on :8090; TLS in front serves it on 443.
  monitor_port = 443
  # Route53 offers 10 s (fast) or 30 s; 10 s matches the monitor's POLL_INTERVAL.
  check_interval = 10
  # Consecutive failures before unhealthy (and successes before healthy again).
  failure_threshold = 3
  ttl               = 30

  # DNS key -> the monitor's region name (docs/geodns/README.md, Names).
  regions = {
    eu   = { monitor_region = "eu" }
    us   = { monitor_region = "us-east" }
    asia = { monitor_region = "asia" }
  }

  # Where each location's miners go, in failover order.
  failover_order = {
    eu   = ["eu", "us", "asia"]
    us   = ["us", "eu", "asia"]
    asia = ["asia", "us", "eu"]
  }

  # Geolocation of the query -> location key of failover_order.
  geo = [
    { id = "europe", continent = "EU", target = "eu" },
    { id = "africa", continent = "AF", target = "eu" },
    { id = "north-america", continent = "NA", target = "us" },
    { id = "south-america", continent = "SA", target = "us" },
    { id = "asia", continent = "AS", target = "asia" },
    { id = "oceania", continent = "OC", target = "asia" },
  ]
}
