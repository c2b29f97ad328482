//! Partners: the vendor's business profile, approval status, dashboard and profile pages.

pub mod admin;
pub mod branding;
pub mod pages;
pub mod repo;
pub mod signup;
