//! French-first message catalogue. Every user-facing string is a `Msg`; the compiler makes
//! both languages complete. Placeholders are `{name}` and are filled by `Lang::fmt`.

mod catalogue;

pub use catalogue::Msg;

/// A language the portal speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Fr,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Fr, Lang::En];

    /// The CSV separator Excel expects in this language's locale: `;` in French, `,` in English.
    pub fn csv_delimiter(self) -> u8 {
        match self {
            Lang::Fr => b';',
            Lang::En => b',',
        }
    }

    /// What goes between a label and its value: `Rôle : Gérant` (a no-break space before the
    /// colon, as French writes it) / `Role: Manager`.
    pub fn colon(self) -> &'static str {
        match self {
            Lang::Fr => "\u{a0}: ",
            Lang::En => ": ",
        }
    }

    /// How numbers group thousands in this language: `1 500` (a no-break space) / `1,500`.
    pub fn thousands_separator(self) -> char {
        match self {
            Lang::Fr => '\u{a0}',
            Lang::En => ',',
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The best language for an `Accept-Language` header (weights honoured), if any matches.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(Lang, f32)> = None;
        for part in header.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let q = pieces.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            if let Some(lang) = Lang::parse(primary)
                && q > 0.0
                && best.is_none_or(|(_, bq)| q > bq)
            {
                best = Some((lang, q));
            }
        }
        best.map(|(l, _)| l)
    }

    /// The text of a message.
    pub fn t(self, msg: Msg) -> &'static str {
        msg.text(self)
    }

    /// The text of a message with `{name}` placeholders filled in, and its plurals chosen:
    /// `{name|one|other}` says `one` or `other` after the number `name` (French says the
    /// singular for 0 and 1, English for 1 only).
    pub fn fmt(self, msg: Msg, args: &[(&str, &str)]) -> String {
        let mut out = msg.text(self).to_owned();
        for (name, value) in args {
            if out.contains('|') {
                out = self.plurals(&out, name, value);
            }
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }

    /// A number of tenths with one decimal, as the language writes it: `70` → `7,0` / `7.0`.
    pub fn tenths(self, tenths: i64) -> String {
        let sep = if self == Lang::Fr { ',' } else { '.' };
        let sign = if tenths < 0 { "-" } else { "" };
        format!("{sign}{}{sep}{}", tenths.abs() / 10, tenths.abs() % 10)
    }

    /// A distance in kilometres from metres: `7,0 km` / `7.0 km`.
    pub fn km(self, meters: i64) -> String {
        format!("{}\u{a0}km", self.tenths((meters + 50) / 100))
    }

    /// A whole percentage: `12 %` (French, a no-break space) / `12%`.
    pub fn percent(self, whole: i64) -> String {
        match self {
            Lang::Fr => format!("{whole}\u{a0}%"),
            Lang::En => format!("{whole}%"),
        }
    }

    /// A rate in per mille as a percentage: `87,5 %` (French, a no-break space) / `87.5%`.
    pub fn percent_permille(self, permille: i64) -> String {
        match self {
            Lang::Fr => format!("{}\u{a0}%", self.tenths(permille)),
            Lang::En => format!("{}%", self.tenths(permille)),
        }
    }

    /// Is `n` (as written, spaces and all) singular in this language?
    fn singular(self, n: &str) -> bool {
        let digits: String = n.chars().filter(|c| c.is_ascii_digit() || *c == '-').collect();
        match (self, digits.parse::<i64>()) {
            (Lang::Fr, Ok(n)) => n.abs() <= 1,
            (Lang::En, Ok(n)) => n.abs() == 1,
            (_, Err(_)) => false,
        }
    }

    /// Resolve the `{name|one|other}` forms of `text` for the number `value`.
    fn plurals(self, text: &str, name: &str, value: &str) -> String {
        let open = format!("{{{name}|");
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find(&open) {
            out.push_str(&rest[..at]);
            let inner = &rest[at + open.len()..];
            let Some(end) = inner.find('}') else { break };
            let (one, other) = inner[..end].split_once('|').unwrap_or((&inner[..end], &inner[..end]));
            out.push_str(if self.singular(value) { one } else { other });
            rest = &inner[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// Declares the catalogue: `Variant => ("français", "English"),`.
macro_rules! define_catalogue {
    ($($name:ident => ($fr:expr, $en:expr),)*) => {
        /// Every user-facing message of the portal.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Msg { $($name,)* }

        impl Msg {
            pub fn text(self, lang: $crate::i18n::Lang) -> &'static str {
                match (self, lang) {
                    $((Msg::$name, $crate::i18n::Lang::Fr) => $fr,
                      (Msg::$name, $crate::i18n::Lang::En) => $en,)*
                }
            }

            /// Every message (the tests check the catalogue, and the pages against it).
            pub const ALL: &'static [Msg] = &[$(Msg::$name,)*];
        }
    };
}
pub(crate) use define_catalogue;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_follow_each_language() {
        assert_eq!(Lang::Fr.fmt(Msg::ResultsCount, &[("n", "0")]), "0 résultat");
        assert_eq!(Lang::Fr.fmt(Msg::ResultsCount, &[("n", "1")]), "1 résultat");
        assert_eq!(Lang::Fr.fmt(Msg::ResultsCount, &[("n", "2")]), "2 résultats");
        assert_eq!(Lang::En.fmt(Msg::ResultsCount, &[("n", "0")]), "0 results");
        assert_eq!(Lang::En.fmt(Msg::ResultsCount, &[("n", "1")]), "1 result");
        assert_eq!(Lang::Fr.fmt(Msg::InvoiceLines, &[("n", "1\u{a0}250")]), "1\u{a0}250 livraisons");
        assert_eq!(Lang::En.fmt(Msg::InvoiceLines, &[("n", "1")]), "1 delivery");
        assert_eq!((Lang::Fr.km(7_040), Lang::En.km(7_040)), ("7,0\u{a0}km".to_owned(), "7.0\u{a0}km".to_owned()));
        assert_eq!((Lang::Fr.percent_permille(888), Lang::En.percent_permille(888)), ("88,8\u{a0}%".to_owned(), "88.8%".to_owned()));
        let summary = Lang::Fr.fmt(Msg::ImportSummary, &[("valid", "2"), ("invalid", "1")]);
        assert_eq!(summary, "2 lignes valides, 1 ligne à corriger.");
    }

    #[test]
    fn accept_language_honours_weights() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9,fr;q=0.8"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("de, fr-CM;q=0.5, en;q=0.4"), Some(Lang::Fr));
        assert_eq!(Lang::from_accept_language("de"), None);
        assert_eq!(Lang::from_accept_language("en;q=0"), None);
    }

    #[test]
    fn every_message_is_non_empty_and_placeholders_match() {
        for msg in Msg::ALL {
            let (fr, en) = (msg.text(Lang::Fr), msg.text(Lang::En));
            assert!(!fr.is_empty() && !en.is_empty(), "{msg:?}");
            let holes = |s: &str| {
                // A plural form `{n|one|other}` counts as the placeholder `n`.
                let mut v: Vec<String> = s
                    .split('{')
                    .skip(1)
                    .filter_map(|p| p.split_once('}'))
                    .map(|(n, _)| n.split('|').next().unwrap_or(n).to_owned())
                    .collect();
                v.sort();
                v.dedup();
                v
            };
            assert_eq!(holes(fr), holes(en), "placeholders differ in {msg:?}");
        }
    }
}
