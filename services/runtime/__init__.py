"""What every service process shares besides messaging: settings and the lifecycle with
graceful shutdown (`lifecycle`), JSON logs and Prometheus metrics (`observability`), and
RFC 9457 problem responses for HTTP (`http_problems`)."""
