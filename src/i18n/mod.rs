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

    /// The text of a message with `{name}` placeholders filled in.
    pub fn fmt(self, msg: Msg, args: &[(&str, &str)]) -> String {
        let mut out = msg.text(self).to_owned();
        for (name, value) in args {
            out = out.replace(&format!("{{{name}}}"), value);
        }
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

            #[cfg(test)]
            pub const ALL: &'static [Msg] = &[$(Msg::$name,)*];
        }
    };
}
pub(crate) use define_catalogue;

#[cfg(test)]
mod tests {
    use super::*;

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
                let mut v: Vec<String> = s.split('{').skip(1).filter_map(|p| p.split_once('}')).map(|(n, _)| n.to_owned()).collect();
                v.sort();
                v
            };
            assert_eq!(holes(fr), holes(en), "placeholders differ in {msg:?}");
        }
    }
}
