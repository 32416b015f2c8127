"""Instagram: the one typed client of Instagram's APIs (an HTTP core plus one module per API family),
its pydantic models, the error table and rate-limit usage tracking."""
