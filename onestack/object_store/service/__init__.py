"""The proxy's logic over the database: accounts, containers and their listings."""
