"""What every service process shares besides messaging: settings and the lifecycle with
graceful shutdown (`lifecycle`), secrets that refuse development defaults (`settings`), and
RFC 9457 problem responses for HTTP (`http_problems`), the back office's staff assertions on
FastAPI apps (`staff`), the dead letters' HTTP API for admin staff that the lifecycle mounts
on every service it runs (`dead_letters`), and what HTML forms share: the CSRF tokens
(`csrf`, pure), the form guard and security headers (`forms`)."""
