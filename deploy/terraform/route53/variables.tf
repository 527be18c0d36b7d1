variable "aws_region" {
  type        = string
  default     = "us-east-1"
  description = "Region for the AWS API calls (Route53 itself is global)."
}

variable "zone_id" {
  type        = string
  description = "Hosted zone that holds var.domain, e.g. the zone of thebitcoingame.com."
}

variable "domain" {
  type        = string
  default     = "mine.thebitcoingame.com"
  description = "The name miners configure; the per-region names are <key>.<domain>."
}

variable "monitor_host" {
  type        = string
  default     = "health.thebitcoingame.com"
  description = "Public HTTPS name of the health monitor (TLS in front of its :8090)."
}

variable "region_ips" {
  type        = map(string)
  description = "Public IPv4 address of each region's Stratum endpoint, keyed eu, us, asia."

  validation {
    condition     = alltrue([for k in ["eu", "us", "asia"] : contains(keys(var.region_ips), k)])
    error_message = "region_ips must have the keys eu, us and asia."
  }
}
