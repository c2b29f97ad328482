//! Demo data for `delivr demo`: an admin, an approved vendor with a complete profile, other
//! vendors (one waiting for approval) and couriers. Later issues add orders and money.

use crate::{
    accounts::{password, repo as users},
    auth::Role,
    db::{Db, now_ms},
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

/// The demo shop's team besides its owner: a manager, a staff member and an accountant.
pub const TEAM: &[(DemoLogin, &str, crate::auth::TeamRole)] = &[
    (DemoLogin { role: "MANAGER", email: "gerant@demo.cm", password: "gerant-demo-2026" }, "Hervé Nkoulou", crate::auth::TeamRole::Manager),
    (DemoLogin { role: "STAFF", email: "employe@demo.cm", password: "employe-demo-2026" }, "Mireille Abena", crate::auth::TeamRole::Staff),
    (
        DemoLogin { role: "ACCOUNTANT", email: "compta@demo.cm", password: "compta-demo-2026" },
        "Joseph Ateba",
        crate::auth::TeamRole::Accountant,
    ),
];

const OTHER_VENDORS: &[(&str, &str, &str, &str, bool)] = &[
    ("Épicerie Chez Zoé", "Zoé Ngo Bassa", "+237699112233", "zoe@epicerie.cm", true),
    ("Tech Akwa Phones", "Serge Ekane", "+237677445566", "serge@techakwa.cm", true),
    ("Pagne & Style Yaoundé", "Carine Mballa", "+237655778899", "carine@pagne.cm", false),
];

const COURIERS: &[(&str, &str, &str)] = &[
    ("Jean Mbarga", "+237691234567", "jean.mbarga@coursiers.delivr.cm"),
    ("Aïcha Bello", "+237678112244", "aicha.bello@coursiers.delivr.cm"),
    ("Paul Tchoua", "+237696554433", "paul.tchoua@coursiers.delivr.cm"),
    ("Brice Fotso", "+237650223344", "brice.fotso@coursiers.delivr.cm"),
    ("Estelle Ngo Mbock", "+237699887766", "estelle.ngo@coursiers.delivr.cm"),
    ("Samuel Etoa", "+237677556611", "samuel.etoa@coursiers.delivr.cm"),
];

pub const COURIER: DemoLogin = DemoLogin { role: "COURIER", email: "jean.mbarga@coursiers.delivr.cm", password: "coursier-demo-2026" };

/// What the demo prints: the logins and an API key of the demo vendor.
pub struct Seeded {
    pub logins: Vec<DemoLogin>,
    pub api_key: String,
    /// The demo owner's two-factor key (for an authenticator app) and a recovery code.
    pub owner_two_factor: String,
    pub owner_recovery: String,
}

/// The demo owner's two-factor key, the same at every start (like the demo's passwords): add
/// it to an authenticator app, or compute a code with `oathtool --totp -b`.
pub const OWNER_TOTP_SECRET: &str = "MRSWY2LWOJRW2ZDFNVXTEMBSGZWWC3LB";

/// Seed the demo accounts into an empty database.
pub async fn seed(db: &Db) -> anyhow::Result<Seeded> {
    let admin_hash = password::hash_blocking(ADMIN.password.to_owned()).await?;
    let admin_id = users::create_staff(db, Role::Admin, ADMIN.email, "Admin DELIVR-CM", None, &admin_hash).await?;

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
    let courier_hash = password::hash_blocking(COURIER.password.to_owned()).await?;
    let mut courier_ids = Vec::new();
    for (name, phone, email) in COURIERS {
        let hash = if *email == COURIER.email { &courier_hash } else { &other_hash };
        courier_ids.push(users::create_staff(db, Role::Courier, email, name, Some(phone), hash).await?);
    }
    // Douala–Yaoundé is served, at its own tariff (a bus parcel service and a courier at each end).
    let intercity = crate::pricing::Tariff {
        city_id: 2,
        base_fare: 3000,
        per_km: 15,
        surcharge_medium: 500,
        surcharge_large: 1500,
        commission_bps: 2000,
    };
    crate::pricing::save_intercity(db, 1, 2, &intercity).await?;
    seed_orders(db, &vendor_id, &courier_ids, now_ms(), 450).await?;
    seed_money(db, &vendor_id).await?;
    seed_disputes(db, &vendor_id, &admin_id).await?;
    seed_brand(db, &vendor_id).await?;
    seed_booking_requests(db, &vendor_id).await?;
    seed_after_failures(db, &vendor_id).await?;
    let key = crate::api_keys::create(db, &vendor_id, "Démo").await?.ok_or_else(|| anyhow::anyhow!("the demo vendor is approved"))?;
    let mut logins = vec![ADMIN, VENDOR];
    for (login, name, role) in TEAM {
        let hash = password::hash_blocking(login.password.to_owned()).await?;
        let user = users::create_staff(db, Role::Business, login.email, name, None, &hash).await?;
        crate::team::add(db, &vendor_id, &user, *role, now_ms()).await?;
        logins.push(DemoLogin { role: login.role, email: login.email, password: login.password });
    }
    logins.push(COURIER);
    // The owner of a shop keeps money and keys behind a second factor.
    let owner: String =
        on_db!(db, pool => sqlx::query_scalar("SELECT user_id FROM partners WHERE id = $1").bind(&vendor_id).fetch_one(pool).await)?;
    let recovery = crate::accounts::two_factor::turn_on_with(db, &owner, OWNER_TOTP_SECRET, now_ms()).await?;
    Ok(Seeded {
        logins,
        api_key: key.secret,
        owner_two_factor: OWNER_TOTP_SECRET.to_owned(),
        owner_recovery: recovery.into_iter().next().unwrap_or_default(),
    })
}

/// A tiny deterministic generator: the demo is the same at every start.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const FIRST_NAMES: &[&str] = &[
    "Paul", "Chantal", "Ibrahim", "Mireille", "Arnaud", "Flore", "Hervé", "Sandrine", "Boris", "Nadège", "Yannick", "Clarisse", "Moussa",
    "Vanessa", "Landry", "Prisca",
];
const LAST_NAMES: &[&str] = &[
    "Nkwi",
    "Eto'o",
    "Abanda",
    "Mbappé",
    "Tchakounté",
    "Owona",
    "Fouda",
    "Ndjock",
    "Kamga",
    "Essomba",
    "Biya",
    "Atangana",
    "Nana",
    "Moukoko",
];
const PACKAGES: &[&str] = &[
    "Chaussures",
    "Robe en pagne",
    "Téléphone Tecno",
    "Sac à main",
    "Parfum",
    "Montre",
    "Écouteurs",
    "Livres scolaires",
    "Chemise",
    "Crème de beauté",
    "Perruque",
    "Jus de bissap (6 bouteilles)",
];
const LANDMARKS: &[&str] = &[
    "Derrière la pharmacie",
    "Face à l'église",
    "À côté de la boulangerie",
    "Carrefour, portail bleu",
    "Près de l'école publique",
    "Immeuble jaune, 2e étage",
    "Après la station Total",
    "Entrée du marché",
];

/// About `count` orders over the last 90 days, every status, peaks around noon and evening;
/// recent ones are left pending or moving for the simulator.
pub async fn seed_orders(db: &Db, partner_id: &str, couriers: &[String], now: i64, count: usize) -> anyhow::Result<()> {
    use crate::orders::{
        self, Draft,
        model::Action,
        service::{self, Actor, Source},
    };
    let bus = crate::events::Bus::default();
    let partner = partners::by_id(db, partner_id).await?.ok_or_else(|| anyhow::anyhow!("demo vendor missing"))?;
    let douala_quartiers = geo::quartiers_of(db, 1).await?;
    let yaounde_quartiers = geo::quartiers_of(db, 2).await?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // Hours of the day, weighted towards noon and the evening (Douala time).
    const HOURS: &[i64] = &[8, 9, 10, 10, 11, 11, 12, 12, 12, 12, 13, 13, 13, 14, 15, 16, 17, 17, 18, 18, 18, 18, 19, 19, 19, 20, 20, 21];
    let day_ms = 86_400_000;
    for i in 0..count {
        let days_ago = (rng.below(90 * 90) as f64).sqrt() as i64; // more orders recently
        let days_ago = 89 - days_ago.min(89);
        let hour = *rng.pick(HOURS);
        let minute = rng.below(60) as i64;
        let local_midnight = (now + 3_600_000).div_euclid(day_ms) * day_ms - 3_600_000;
        let created = (local_midnight - days_ago * day_ms + hour * 3_600_000 + minute * 60_000).min(now - 60_000 * (i as i64 % 50 + 1));
        let (city, quartiers) = if rng.below(100) < 92 { ("1", &douala_quartiers) } else { ("2", &yaounde_quartiers) };
        let q = rng.pick(quartiers);
        let draft = Draft {
            pickup_city: String::new(),
            pickup_quartier: String::new(),
            pickup_address: String::new(),
            dropoff_city: city.to_owned(),
            dropoff_quartier: q.id.to_string(),
            dropoff_address: rng.pick(LANDMARKS).to_string(),
            recipient_name: format!("{} {}", rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES)),
            recipient_phone: format!("6{}{:07}", [7, 9, 5, 8][rng.below(4) as usize], rng.below(10_000_000)),
            package_description: rng.pick(PACKAGES).to_string(),
            size_class: ["S", "S", "S", "M", "M", "L"][rng.below(6) as usize].to_owned(),
            cod_amount: if rng.below(100) < 65 { (rng.below(60) * 500 + 2000).to_string() } else { String::new() },
            courier_note: String::new(),
            intercity_ok: String::new(),
        };
        let valid = match orders::validate(db, crate::i18n::Lang::Fr, &partner, &draft).await? {
            Ok(v) => v,
            Err(_) => continue,
        };
        let vendor = Actor { role: crate::orders::model::Role::Vendor, user_id: Some(partner.user_id.clone()) };
        let mut order = service::create(db, &bus, partner_id, Source::Demo, &valid, &vendor, created).await?;
        let age = now - created;
        // Recent orders stay for the simulator; older ones are finished.
        if age < 40 * 60_000 {
            continue;
        }
        let roll = rng.below(100);
        let courier = rng.pick(couriers).clone();
        let sys = Actor::system();
        let courier_actor = Actor { role: crate::orders::model::Role::Courier, user_id: Some(courier.clone()) };
        let mut t = created + (5 + rng.below(20) as i64) * 60_000;
        if roll < 7 {
            service::transition(db, &bus, &order, &Action::Cancel { reason: String::new() }, &vendor, t).await?;
            continue;
        }
        order = service::transition(db, &bus, &order, &Action::Assign { courier_id: courier.clone() }, &sys, t).await?;
        t += (5 + rng.below(20) as i64) * 60_000;
        order = service::transition(db, &bus, &order, &Action::PickUp, &courier_actor, t).await?;
        t += (2 + rng.below(5) as i64) * 60_000;
        order = service::transition(db, &bus, &order, &Action::StartTransit, &courier_actor, t).await?;
        t += (10 + rng.below(40) as i64) * 60_000;
        let action = if roll < 13 {
            Action::Fail { reason: "Destinataire injoignable au téléphone".to_owned() }
        } else {
            Action::Complete { pin: order.delivery_pin.clone() }
        };
        service::transition(db, &bus, &order, &action, &courier_actor, t.min(now)).await?;
    }
    Ok(())
}

/// Past invoices for the months the demo covers, one paid payout and one waiting.
async fn seed_money(db: &Db, vendor_id: &str) -> anyhow::Result<()> {
    let bus = crate::events::Bus::default();
    let now = now_ms();
    let mut month_end = now;
    for _ in 0..3 {
        let month = crate::invoices::previous_month(month_end);
        crate::invoices::close_month(db, &bus, &month).await?;
        // Step into the month before.
        let first = crate::invoices::parse_month(&month).ok_or_else(|| anyhow::anyhow!("month"))?;
        month_end = crate::douala::day_start(first);
    }
    let available = crate::wallet::balance(db, vendor_id).await?.available().get();
    if available >= 2 * crate::wallet::MIN_PAYOUT.get() {
        let phone = crate::accounts::phone::Phone::parse("677987654").ok_or_else(|| anyhow::anyhow!("phone"))?;
        let amount = crate::money::Fcfa((available / 4 / 500 * 500).max(crate::wallet::MIN_PAYOUT.get()));
        let paid = crate::wallet::request_payout(db, vendor_id, amount, &phone, "MTN", &uuid::Uuid::new_v4().to_string()).await?;
        crate::wallet::decide_payout(db, &bus, &paid, true, "MP261120.0842.B71934", "demo").await?;
        crate::wallet::request_payout(
            db,
            vendor_id,
            crate::money::Fcfa(crate::wallet::MIN_PAYOUT.get() * 5),
            &phone,
            "MTN",
            &uuid::Uuid::new_v4().to_string(),
        )
        .await?;
    }
    Ok(())
}

/// A drawn picture (no photo ships with the code): a parcel-brown gradient with a dark band.
fn demo_picture(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        let band = (y * 5 / height) == 2;
        let shade = (x * 60 / width) as u8;
        if band { image::Rgb([90, 60, 30]) } else { image::Rgb([170 + shade / 2, 120 + shade / 3, 70]) }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    let _ = image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Png);
    out.into_inner()
}

/// Four disputes on the demo vendor's delivered orders, one in each status.
async fn seed_disputes(db: &Db, vendor_id: &str, admin_id: &str) -> anyhow::Result<()> {
    use crate::disputes::{self, Author, Decision, NewDispute};
    let bus = crate::events::Bus::default();
    let finished: Vec<String> = on_db!(db, pool => sqlx::query_scalar(
        "SELECT id FROM orders WHERE partner_id = $1 AND status = 'COMPLETED' AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 40",
    )
    .bind(vendor_id)
    .fetch_all(pool)
    .await)?;
    let photo = crate::media::evidence(&demo_picture(1200, 900), disputes::MAX_PHOTO_BYTES)?;
    // (index among recent deliveries, reason, description, claimed, outcome)
    let plan: [(usize, &str, &str, i64, &str); 4] = [
        (0, "DAMAGED", "Le client a reçu le carton écrasé : deux bouteilles de jus cassées.", 4000, "open"),
        (3, "COD_MISMATCH", "Le client dit avoir payé 15 000 FCFA, le coursier a déclaré 12 000 FCFA.", 3000, "review"),
        (12, "LATE", "Livraison prévue le matin, arrivée à 19 h ; le client a refusé de payer la livraison.", 1500, "resolved"),
        (25, "COURIER_CONDUCT", "Le coursier a appelé la cliente plusieurs fois tard le soir.", 0, "rejected"),
    ];
    for (index, reason, description, claimed, outcome) in plan {
        let Some(id) = finished.get(index) else { continue };
        let Some(order) = crate::orders::repo::find(db, id).await? else { continue };
        let finished_at = order.finished_at.unwrap_or_else(now_ms);
        let opened = (finished_at + 3_600_000).min(now_ms());
        let new = NewDispute {
            reason: disputes::reason_code(reason).unwrap_or("OTHER"),
            description: description.to_owned(),
            amount_claimed: claimed,
        };
        let photos = if outcome == "open" || outcome == "resolved" { vec![photo.clone()] } else { Vec::new() };
        let d = disputes::open(db, &bus, &order, None, &new, &photos, opened, None).await.map_err(|e| anyhow::anyhow!(e))?;
        let later = |hours: i64| (opened + hours * 3_600_000).min(now_ms());
        match outcome {
            "review" => {
                disputes::review(db, &bus, &d.id, admin_id, "Nous vérifions le reçu du coursier.", later(2))
                    .await
                    .map_err(|e| anyhow::anyhow!(e))?;
                disputes::comment(
                    db,
                    &bus,
                    &d.id,
                    Author::Admin(admin_id),
                    "Pouvez-vous nous envoyer la capture du paiement du client ?",
                    later(3),
                    None,
                )
                .await
                .map_err(|e| anyhow::anyhow!(e))?;
            }
            "resolved" | "rejected" => {
                disputes::review(db, &bus, &d.id, admin_id, "Pris en charge par l'équipe.", later(2))
                    .await
                    .map_err(|e| anyhow::anyhow!(e))?;
                let decision = if outcome == "resolved" {
                    Decision { resolved: true, reason: "Retard confirmé par le suivi GPS : frais remboursés.".into(), refund: claimed }
                } else {
                    Decision {
                        resolved: false, reason: "Appels justifiés : la cliente était injoignable à l'adresse.".into(), refund: 0
                    }
                };
                disputes::decide(db, &bus, vendor_id, &d.id, admin_id, &decision, later(26)).await.map_err(|e| anyhow::anyhow!(e))?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// The demo vendor's brand: a colour, a message and a drawn logo.
/// Two failed deliveries the vendor decided on: one given a new attempt (waiting for a
/// courier again), one returned to the vendor.
async fn seed_after_failures(db: &Db, vendor_id: &str) -> anyhow::Result<()> {
    use crate::orders::{model::Action, repo, service};
    let bus = crate::events::Bus::default();
    let failed: Vec<String> = on_db!(db, pool => sqlx::query_scalar("SELECT id FROM orders WHERE partner_id = $1 AND status = 'FAILED' ORDER BY finished_at DESC LIMIT 2")
        .bind(vendor_id)
        .fetch_all(pool)
        .await)?;
    let vendor = service::Actor { role: crate::orders::model::Role::Vendor, user_id: None };
    let policy = crate::orders::AfterFailure { reattempt_percent: 50, return_percent: 50 };
    for (i, id) in failed.iter().enumerate() {
        let Some(order) = repo::find(db, id).await? else { continue };
        let action = if i == 0 { policy.reattempt(&order) } else { policy.send_back(&order) };
        let order = service::transition(db, &bus, &order, &action, &vendor, now_ms()).await?;
        if let (1, Some(code)) = (i, order.return_code.clone()) {
            service::transition(db, &bus, &order, &Action::HandBack { code }, &service::Actor::system(), now_ms()).await?;
        }
    }
    Ok(())
}

/// Two customers' requests from the booking page, waiting in "À confirmer".
async fn seed_booking_requests(db: &Db, vendor_id: &str) -> anyhow::Result<()> {
    let bus = crate::events::Bus::default();
    let asks = [
        ("Flore Essomba", "699887766", "Makepe", "Carrefour Makepe, portail bleu", "Panier de fruits"),
        ("Jean Mballa", "655443322", "Bonamoussadi", "Derrière la station Total", "Deux pagnes wax"),
    ];
    for (name, phone, quartier, address, package) in asks {
        let dropoff = crate::geo::find_quartier(db, 1, quartier).await?.ok_or_else(|| anyhow::anyhow!("quartier {quartier}"))?;
        let pickup = on_db!(db, pool => sqlx::query_scalar::<_, i64>("SELECT pickup_quartier_id FROM partners WHERE id = $1").bind(vendor_id).fetch_one(pool).await)?;
        let pickup = crate::geo::quartier(db, pickup).await?.ok_or_else(|| anyhow::anyhow!("pickup"))?;
        let quote =
            crate::pricing::quote(db, &pickup, &dropoff, crate::pricing::Size::S).await?.ok_or_else(|| anyhow::anyhow!("served"))?;
        let request = crate::orders::bookings::NewRequest {
            dropoff,
            dropoff_address: address.to_owned(),
            recipient_name: name.to_owned(),
            recipient_phone: crate::accounts::phone::Phone::parse(phone).ok_or_else(|| anyhow::anyhow!("phone"))?,
            package_description: package.to_owned(),
            fee: quote.price.total,
            lang: crate::i18n::Lang::Fr,
        };
        crate::orders::bookings::submit(db, &bus, vendor_id, &request, 48 * 3_600_000, now_ms()).await?;
    }
    Ok(())
}

async fn seed_brand(db: &Db, vendor_id: &str) -> anyhow::Result<()> {
    let logo = image::RgbaImage::from_fn(256, 256, |x, y| {
        let (dx, dy) = (x as f64 - 128.0, y as f64 - 128.0);
        let r = (dx * dx + dy * dy).sqrt();
        if r < 84.0 {
            image::Rgba([255, 255, 255, 255])
        } else if r < 124.0 {
            image::Rgba([138, 59, 18, 255])
        } else {
            image::Rgba([0, 0, 0, 0])
        }
    });
    let mut png = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgba8(logo).write_to(&mut png, image::ImageFormat::Png)?;
    let logo = crate::media::logo(png.get_ref(), crate::partners::branding::MAX_LOGO_BYTES)?;
    let slug: String =
        on_db!(db, pool => sqlx::query_scalar("SELECT slug FROM partners WHERE id = $1").bind(vendor_id).fetch_one(pool).await)?;
    let update = crate::partners::branding::BrandingUpdate {
        color: Some("#8a3b12".to_owned()),
        message: Some("Merci de votre confiance ! Livraison le jour même à Douala pour toute commande passée avant 14 h.".to_owned()),
        slug,
        logo: Some(Some(logo)),
    };
    crate::partners::branding::save_branding(db, vendor_id, &update).await?;
    Ok(())
}
