//! Integration tests: the real HTTP server against SQLite and PostgreSQL.

mod helpers;

mod accounts;
mod admin;
mod shell;
