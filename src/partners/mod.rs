//! Partners: the vendor's business profile, approval status, dashboard and profile pages.

pub mod pages;
pub mod repo;
