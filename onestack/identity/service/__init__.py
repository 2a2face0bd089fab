"""The identity service's logic. Each module owns one family of resources; every public
function takes a SQLAlchemy Session as its first argument and runs inside the caller's
transaction (``Database.read`` / ``Database.write``)."""
