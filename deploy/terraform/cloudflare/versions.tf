# GeoDNS for mine.thebitcoingame.com on Cloudflare Load Balancing
# (docs/geodns/cloudflare-alternative.md). Argument names are those of the
# Cloudflare provider v4; v5 renamed several of them.
terraform {
  required_version = ">= 1.5"
  required_providers {
    cloudflare = {
      source  = "cloudflare/cloudflare"
      version = "~> 4.40"
    }
  }
}

# Reads the token from CLOUDFLARE_API_TOKEN.
provider "cloudflare" {}
