"""Use cases by area: verb functions, each one database transaction; the only writers."""
