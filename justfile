# DELIVR-CM partner portal. `just` lists the recipes.

set shell := ["bash", "-euo", "pipefail", "-c"]

default:
    @just --list

# Front-end packages (htmx for the pages, playwright-core for the browser tests), from the lockfile.
assets:
    @if [ ! -d assets/node_modules/htmx.org ] || [ assets/package-lock.json -nt assets/node_modules/.package-lock.json ]; then npm ci --prefix assets --no-audit --no-fund; fi

# Everything the tests need on a fresh machine: Chromium, ChromeDriver, npm packages.
setup: assets
    bash .ci/setup

# Run the portal with demo data on a fresh embedded SQLite file.
demo: assets
    cargo run --release -- demo

# Run the portal (DATABASE_URL, BIND, PUBLIC_URL, ... from the environment).
run: assets
    cargo run --release -- serve

# Apply migrations to DATABASE_URL.
migrate: assets
    cargo run -- migrate

fmt:
    cargo fmt --all

lint: assets
    cargo fmt --all -- --check
    cargo clippy --all-targets -- -D warnings

# Unit tests and HTTP tests on SQLite and PostgreSQL (TEST_POSTGRES_URL), then the browser tests.
test: assets
    cargo test --lib --bins
    cargo test --test architecture
    cargo test --test http
    cargo test --test browser

# Only the HTTP tests on PostgreSQL (handy while working on SQL).
test-pg: assets
    cargo test --test http postgres

# Only the browser tests (screenshots in target/screenshots/).
test-browser: assets
    cargo test --test browser -- --nocapture

# Scale-out, proven: two `delivr serve` processes on one PostgreSQL (TEST_POSTGRES_URL), the
# simulator in a third, orders through both; webhooks once each, wallets balanced, live streams
# fed on both instances.
scale: assets
    cargo test --test http scale -- --nocapture

# Fuzz the API against its OpenAPI document (schemathesis from PyPI).
test-api-fuzz: assets
    bash .ci/schemathesis

# What CI runs, in order.
ci: setup lint test test-api-fuzz

# Benchmarks from outside (wrk, Debian's package) on SQLite and PostgreSQL: ratios to a
# hello-world, p99s, bytes. `just bench webhooks streams` runs some groups (http, export,
# webhooks, streams, analytics, browser); BENCH_DB=sqlite|postgres one backend.
bench *groups: assets
    @command -v wrk >/dev/null || { [ "$(id -u)" -eq 0 ] && s="" || s=sudo; $s env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
    cargo bench --bench http_bench -- {{groups}}
