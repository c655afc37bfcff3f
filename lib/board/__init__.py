"""A class together: the classes a teacher starts, their students, the runs and predictions they post, in one SQL
database reached through SQLAlchemy (SQLite by default, PostgreSQL when CLASS_DB_URL names one)."""
