"""Persistence: SQLModel tables, database setup and paged queries."""
