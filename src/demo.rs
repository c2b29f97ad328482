//! Demo data for `delivr demo`: an admin, an approved vendor with a complete profile, other
//! vendors (one waiting for approval) and couriers. Later issues add orders and money.

use crate::{
    accounts::{Role, password, repo as users},
    db::Db,
    geo, on_db,
    partners::repo::{self as partners, NewPartner},
};

/// A login printed at start.
pub struct DemoLogin {
    pub role: &'static str,
    pub email: &'static str,
    pub password: &'static str,
}

pub const ADMIN: DemoLogin = DemoLogin { role: "ADMIN", email: "admin@delivr.cm", password: "admin-demo-2026" };
pub const VENDOR: DemoLogin = DemoLogin { role: "BUSINESS", email: "vendeur@demo.cm", password: "vendeur-demo-2026" };

const OTHER_VENDORS: &[(&str, &str, &str, &str, bool)] = &[
    ("Épicerie Chez Zoé", "Zoé Ngo Bassa", "+237699112233", "zoe@epicerie.cm", true),
    ("Tech Akwa Phones", "Serge Ekane", "+237677445566", "serge@techakwa.cm", true),
    ("Pagne & Style Yaoundé", "Carine Mballa", "+237655778899", "carine@pagne.cm", false),
];

const COURIERS: &[(&str, &str, &str)] = &[
    ("Jean Mbarga", "+237691234567", "jean.mbarga@coursiers.delivr.cm"),
    ("Aïcha Bello", "+237678112244", "aicha.bello@coursiers.delivr.cm"),
    ("Paul Tchoua", "+237696554433", "paul.tchoua@coursiers.delivr.cm"),
];

/// Seed the demo accounts into an empty database; returns the logins to print.
pub async fn seed(db: &Db) -> anyhow::Result<Vec<DemoLogin>> {
    let admin_hash = password::hash_blocking(ADMIN.password.to_owned()).await?;
    users::create_staff(db, Role::Admin, ADMIN.email, "Admin DELIVR-CM", None, &admin_hash).await?;

    let vendor_hash = password::hash_blocking(VENDOR.password.to_owned()).await?;
    let (_, vendor_id) = partners::create(
        db,
        &NewPartner {
            business_name: "Boutique Mama Ngono",
            contact_name: "Marie Ngono",
            phone: "+237677987654",
            email: VENDOR.email,
            password_hash: &vendor_hash,
            language: "fr",
        },
    )
    .await?;
    partners::approve(db, &vendor_id).await?;
    let akwa = geo::find_quartier(db, 1, "Akwa").await?.map(|q| q.id);
    on_db!(db, pool => sqlx::query("UPDATE partners SET pickup_quartier_id = $2, pickup_address = $3 WHERE id = $1")
        .bind(&vendor_id)
        .bind(akwa)
        .bind("Rue Joss, face à la pharmacie du Centre")
        .execute(pool)
        .await.map(|r| r.rows_affected()))?;

    // The other accounts share one hash: they are not meant to be logged into.
    let other_hash = password::hash_blocking(crate::security::random_token(18)).await?;
    for (name, contact, phone, email, approved) in OTHER_VENDORS {
        let (_, id) = partners::create(
            db,
            &NewPartner { business_name: name, contact_name: contact, phone, email, password_hash: &other_hash, language: "fr" },
        )
        .await?;
        if *approved {
            partners::approve(db, &id).await?;
        }
    }
    for (name, phone, email) in COURIERS {
        users::create_staff(db, Role::Courier, email, name, Some(phone), &other_hash).await?;
    }
    Ok(vec![ADMIN, VENDOR])
}
