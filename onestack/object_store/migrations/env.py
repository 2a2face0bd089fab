from onestack.core.db import run_migrations_online

run_migrations_online()
