# The two commands a newcomer needs: `make up` and `make test`.
.PHONY: up down status test lint bench schema backup restore-drill deploy

up:  ## start the local stack with demo data; prints the GraphiQL URL
	@scripts/stack.sh up

down:  ## stop what `make up` started (by pid)
	@scripts/stack.sh down

status:
	@scripts/stack.sh status

backup:  ## a pgBackRest backup of every PostgreSQL server now (full the first time, then incremental)
	@scripts/stack.sh backup

restore-drill:  ## restore the latest backups to a point in time on spare ports, compare GraphQL reads (JSON)
	@scripts/restore_drill.sh

test:  ## the whole suite against a fresh throw-away stack
	@scripts/test.sh

deploy:  ## rolling deploy of the `make up` stack: one instance at a time, no failed request
	@.venv/bin/fab -r deploy deploy

lint:  ## ruff, import-linter and mypy through pre-commit
	@scripts/lint.sh

bench:  ## benchmarks (JSON) against a throw-away stack
	@scripts/bench.sh

schema:  ## regenerate schema.graphql
	.venv/bin/python manage.py print_schema --write
