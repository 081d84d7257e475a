# Shortcuts for developers; the README's commands are `bash scripts/dev.sh demo` and `bash scripts/dev.sh test`
# (make is not on a minimal Debian 12).
.PHONY: demo test setup lint typecheck unit
demo:
	bash scripts/dev.sh demo
test:
	bash scripts/dev.sh test
setup:
	bash scripts/install-system-packages.sh
	bash scripts/install-python-env.sh
lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
typecheck:
	.venv/bin/mypy
unit:
	.venv/bin/pytest -q -n 3 --dist loadscope
