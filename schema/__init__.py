"""SQLAlchemy models, Alembic migrations and the storage layer."""
