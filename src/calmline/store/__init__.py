"""Storage: SQLAlchemy models, Alembic migrations and the conversation service."""
