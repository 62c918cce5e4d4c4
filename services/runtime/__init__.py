"""What every service process shares besides messaging: settings and the lifecycle with
graceful shutdown (`lifecycle`), secrets that refuse development defaults (`settings`), and
RFC 9457 problem responses for HTTP (`http_problems`), and what HTML forms share: the
CSRF tokens (`csrf`, pure), the form guard and security headers (`forms`)."""
