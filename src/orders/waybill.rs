//! Waybills: the label a vendor sticks on a parcel, as PDF. One A6 label per order, or an A4
//! sheet of four labels per page (cut along the lines). A label carries the tracking number,
//! a QR code of the public tracking link, the recipient, the quartier and landmark, the cash
//! to collect, and the vendor's name and phone.

use qrcode::{Color, EcLevel, QrCode};

use super::repo::Order;
use crate::{
    i18n::{Lang, Msg},
    money::format_fcfa,
    pdf::{self, Document},
};

/// At most this many labels in one sheet request.
pub const MAX_LABELS: usize = 40;

/// What a label shows besides the order: its tracking link and the vendor's phone.
pub struct Label<'a> {
    pub order: &'a Order,
    pub tracking_url: String,
    pub vendor_phone: &'a str,
}

/// One order's A6 label.
pub fn single(label: &Label<'_>, lang: Lang) -> Vec<u8> {
    let mut d = Document::with_size(pdf::A6);
    draw(&mut d, (0.0, 0.0), label, lang);
    d.finish()
}

/// Labels four to an A4 page, with cutting lines.
pub fn sheet(labels: &[Label<'_>], lang: Lang) -> Vec<u8> {
    let mut d = Document::new();
    let (w, h) = pdf::A6;
    for (i, label) in labels.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            d.new_page();
        }
        let slot = i % 4;
        let origin = ((slot % 2) as f64 * w, if slot < 2 { h } else { 0.0 });
        draw(&mut d, origin, label, lang);
        if slot == 0 {
            d.rule(0.0, pdf::WIDTH, h, 0.3);
            d.vrule(w, 0.0, pdf::HEIGHT, 0.3);
        }
    }
    d.finish()
}

/// Split `text` into lines that fit `width` points at `size`.
fn wrap(text: &str, size: f64, width: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
        if pdf::text_width(&candidate, size) > width && !line.is_empty() {
            lines.push(std::mem::replace(&mut line, word.to_owned()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Light modules around a QR code, as scanners need.
const QUIET_ZONE: usize = 4;

/// The QR code of `data` as modules (`true` dark) with its quiet zone, and its side in modules.
fn qr(data: &str) -> Option<(usize, Vec<bool>)> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).ok()?;
    let inner = code.width();
    let width = inner + 2 * QUIET_ZONE;
    let mut dark = vec![false; width * width];
    for (i, c) in code.to_colors().into_iter().enumerate() {
        let (row, col) = (i / inner + QUIET_ZONE, i % inner + QUIET_ZONE);
        dark[row * width + col] = c == Color::Dark;
    }
    Some((width, dark))
}

/// One label in the A6 box whose bottom-left corner is `origin`.
fn draw(d: &mut Document, (x0, y0): (f64, f64), label: &Label<'_>, lang: Lang) {
    let o = label.order;
    let (w, h) = pdf::A6;
    let margin = 16.0;
    let (left, right) = (x0 + margin, x0 + w - margin);
    let mut y = y0 + h - margin - 14.0;
    d.text(left, y, 11.0, true, "DELIVR-CM");
    d.text_right(right, y, 17.0, true, &o.tracking_number);
    y -= 10.0;
    d.rule(left, right, y, 0.8);
    // The QR code of the tracking link, top right, with its quiet zone.
    let side = 108.0;
    let qr_top = y - 6.0;
    if let Some((width, dark)) = qr(&label.tracking_url) {
        d.modules(right - side, qr_top - side, side, width, &dark);
    }
    // The recipient, beside it.
    let column = w - 2.0 * margin - side - 10.0;
    y -= 20.0;
    d.text(left, y, 8.0, false, lang.t(Msg::LabelRecipient));
    y -= 14.0;
    for line in wrap(&o.recipient_name, 13.0, column).into_iter().take(2) {
        d.text(left, y, 13.0, true, &line);
        y -= 15.0;
    }
    let phone =
        crate::accounts::phone::Phone::parse(&o.recipient_phone).map(|p| p.to_string()).unwrap_or_else(|| o.recipient_phone.clone());
    d.text(left, y, 11.0, false, &phone);
    y -= 16.0;
    for line in wrap(&format!("{}, {}", o.dropoff_quartier, o.dropoff_city), 11.0, column).into_iter().take(2) {
        d.text(left, y, 11.0, true, &line);
        y -= 13.0;
    }
    y = y.min(qr_top - side - 12.0);
    for line in wrap(&o.dropoff_address, 10.0, w - 2.0 * margin).into_iter().take(3) {
        d.text(left, y, 10.0, false, &line);
        y -= 12.0;
    }
    // The cash to collect, in a box nobody misses.
    y -= 8.0;
    let box_h = 40.0;
    d.fill(left, y - box_h, right - left, box_h, 0.9);
    if o.cod_amount.get() > 0 {
        d.text(left + 8.0, y - 14.0, 8.0, false, lang.t(Msg::LabelCollect));
        d.text(left + 8.0, y - 33.0, 18.0, true, &format_fcfa(o.cod_amount.get()));
    } else {
        d.text(left + 8.0, y - 25.0, 12.0, true, lang.t(Msg::LabelNothingToCollect));
    }
    y -= box_h + 16.0;
    let package = format!("{} ({})", o.package_description, o.size_class);
    for line in wrap(&package, 9.0, w - 2.0 * margin).into_iter().take(2) {
        d.text(left, y, 9.0, false, &line);
        y -= 11.0;
    }
    if o.attempt > 1 {
        d.text(left, y, 9.0, true, &lang.fmt(Msg::AttemptNumber, &[("n", &o.attempt.to_string())]));
    }
    // The sender, at the bottom.
    let bottom = y0 + margin;
    d.rule(left, right, bottom + 26.0, 0.5);
    d.text(left, bottom + 14.0, 8.0, false, lang.t(Msg::LabelSender));
    let vendor_phone =
        crate::accounts::phone::Phone::parse(label.vendor_phone).map(|p| p.to_string()).unwrap_or_else(|| label.vendor_phone.to_owned());
    let sender = format!("{} · {vendor_phone}", o.business_name);
    d.text(left, bottom + 2.0, 10.0, true, &wrap(&sender, 10.0, w - 2.0 * margin).into_iter().next().unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_wraps_to_the_width() {
        let lines = wrap("Derrière la pharmacie du Carrefour, portail bleu, deuxième étage", 10.0, 120.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| pdf::text_width(l, 10.0) <= 120.0 || !l.contains(' ')));
        assert_eq!(lines.join(" "), "Derrière la pharmacie du Carrefour, portail bleu, deuxième étage");
    }

    #[test]
    fn a_link_makes_a_square_code() {
        let (width, dark) = qr("https://portail.delivr.cm/t/abcdefghijklmnopqrstuv/").unwrap();
        assert_eq!(dark.len(), width * width);
        assert!(dark.iter().any(|d| *d) && dark.iter().any(|d| !*d));
    }
}
