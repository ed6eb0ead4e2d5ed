"""The store: SQLAlchemy 2 models, sessions and queries; Alembic migrations."""
