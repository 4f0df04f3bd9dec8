"""One router per area of API v1, plus the health check and the web pages."""
