//! Text folding shared by slugs and quartier matching: accents and case removed.

/// Lower-case ASCII folding of Latin text: `Épicerie Chez Zoé` → `epicerie chez zoe`.
pub fn fold(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => out.push('a'),
            'ç' => out.push('c'),
            'è' | 'é' | 'ê' | 'ë' => out.push('e'),
            'ì' | 'í' | 'î' | 'ï' => out.push('i'),
            'ñ' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => out.push('o'),
            'ù' | 'ú' | 'û' | 'ü' => out.push('u'),
            'ý' | 'ÿ' => out.push('y'),
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            'ß' => out.push_str("ss"),
            '’' | '\'' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Levenshtein distance between two strings, in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb { prev } else { 1 + prev.min(row[j]).min(row[j + 1]) };
            prev = cur;
        }
    }
    row[b.len()]
}

/// A key for matching names: folded, only letters and digits, single spaces.
pub fn match_key(input: &str) -> String {
    fold(input).split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// A URL slug: folded, words joined by `-`, at most 44 characters (room for a `-N` suffix
/// within the 50 a slug may have).
pub fn slugify(input: &str) -> String {
    let joined = match_key(input).split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join("-");
    // Folded text is ASCII: cutting at a byte is cutting at a character.
    joined[..joined.len().min(44)].trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("bonamousadi", "bonamoussadi"), 1);
        assert_eq!(edit_distance("akwa", "akwa"), 0);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn slugs_fold_accents_and_punctuation() {
        assert_eq!(slugify("Épicerie Chez Zoé"), "epicerie-chez-zoe");
        assert_eq!(slugify("  L'Œuf d'Or & Cie!! "), "l-oeuf-d-or-cie");
        assert_eq!(slugify("***"), "");
        assert_eq!(slugify(&"a".repeat(60)).len(), 44);
        assert_eq!(slugify(&"abc ".repeat(20)), "abc-abc-abc-abc-abc-abc-abc-abc-abc-abc-abc");
    }

    #[test]
    fn match_keys_ignore_case_accents_and_dashes() {
        assert_eq!(match_key("Deïdo"), match_key("deido"));
        assert_eq!(match_key("Biyem-Assi"), "biyem assi");
        assert_eq!(match_key("MVOG-MBI"), match_key("mvog mbi"));
    }
}
