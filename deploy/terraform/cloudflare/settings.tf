# The same numbers as deploy/terraform/route53/settings.tf, the docs and the
# health monitor's defaults; tests/deploy/geodns_terraform_test.ts checks them.
locals {
  stratum_port = 3333
  # Needs a plan whose shortest monitor interval is 10 s (see the docs).
  check_interval    = 10
  failure_threshold = 3
  ttl               = 30

  # Location key -> pools in failover order (the same orders as Route53's).
  failover_order = {
    eu   = ["eu", "us", "asia"]
    us   = ["us", "eu", "asia"]
    asia = ["asia", "us", "eu"]
  }

  # Cloudflare's geo regions -> location key.
  steering = {
    WEU  = "eu"
    EEU  = "eu"
    ME   = "eu"
    NAF  = "eu"
    SAF  = "eu"
    ENAM = "us"
    WNAM = "us"
    NSAM = "us"
    SSAM = "us"
    SEAS = "asia"
    NEAS = "asia"
    SAS  = "asia"
    OC   = "asia"
  }
}
