"""Operations: Prometheus metrics, rate limits."""
