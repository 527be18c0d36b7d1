variable "account_id" {
  type        = string
  description = "Cloudflare account that owns the monitor and the pools."
}

variable "zone_id" {
  type        = string
  description = "Zone of thebitcoingame.com."
}

variable "domain" {
  type        = string
  default     = "mine.thebitcoingame.com"
  description = "The name miners configure."
}

variable "region_ips" {
  type        = map(string)
  description = "Public IPv4 address of each region's Stratum endpoint, keyed eu, us, asia."

  validation {
    condition     = alltrue([for k in ["eu", "us", "asia"] : contains(keys(var.region_ips), k)])
    error_message = "region_ips must have the keys eu, us and asia."
  }
}
