output "pool_ids" {
  description = "The pool of each region (disable one to drain it)."
  value       = { for k, pool in cloudflare_load_balancer_pool.region : k => pool.id }
}
