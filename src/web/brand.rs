//! A vendor's colours and logo as the page shell shows them (the booking and public tracking
//! pages). The branding pages edit them; the shell only paints.

/// What the public pages show of a vendor.
#[derive(Debug, Clone, Default)]
pub struct Brand {
    pub name: String,
    /// `#rrggbb`, readable under white text.
    pub color: Option<String>,
    pub message: Option<String>,
    pub logo_url: Option<String>,
}

impl Brand {
    /// The CSS custom properties that repaint a page in the brand's colour.
    pub fn css(&self) -> Option<String> {
        let rgb = parse_color(self.color.as_deref()?)?;
        let soft = mix_with_white(rgb, 0.88);
        Some(format!(":root{{--brand:{};--brand-soft:{}}}", hex(rgb), hex(soft)))
    }
}

/// `#abc`, `#aabbcc` (or without `#`), any case.
pub fn parse_color(input: &str) -> Option<[u8; 3]> {
    let s = input.trim();
    let s = s.strip_prefix('#').unwrap_or(s);
    if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let full: String = match s.len() {
        3 => s.chars().flat_map(|c| [c, c]).collect(),
        6 => s.to_owned(),
        _ => return None,
    };
    let byte = |i: usize| u8::from_str_radix(&full[i..i + 2], 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

pub fn hex(rgb: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2])
}

/// `rgb` mixed with white (`white` from 0 to 1).
pub fn mix_with_white(rgb: [u8; 3], white: f64) -> [u8; 3] {
    rgb.map(|c| (f64::from(c) * (1.0 - white) + 255.0 * white).round() as u8)
}
