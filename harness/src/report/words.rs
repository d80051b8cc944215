//! Words in reports: counts with the right plural, and a one-line summary of a scenario's
//! description that never stops mid-word.

/// `n word` or `n words` ("1 cell", "2 cells", "0 expectations").
pub fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// The first sentence of `text` on one line (runs of white space as one space), at most
/// `max` characters: a longer one is cut at the last word that fits and ends in `…`.
pub fn summary(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let sentence = match line.find(". ") {
        Some(end) => &line[..=end],
        None => line.as_str(),
    };
    if sentence.chars().count() <= max {
        return sentence.to_string();
    }
    let mut out = String::new();
    for word in sentence.split(' ') {
        // +1 for the space, +1 for the ellipsis.
        if out.chars().count() + word.chars().count() + 2 > max {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    let out = out.trim_end_matches([',', ';', ':']).to_string();
    format!("{out}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals() {
        assert_eq!(plural(1, "cell"), "1 cell");
        assert_eq!(plural(0, "cell"), "0 cells");
        assert_eq!(plural(2, "expectation"), "2 expectations");
    }

    #[test]
    fn summary_is_the_first_sentence_cut_at_a_word() {
        assert_eq!(summary("One line.\nTwo. Three.", 80), "One line.");
        assert_eq!(summary("a b\n  c", 80), "a b c");
        let long = "IMDS refuses connections when the client is created, back at 2 s";
        let cut = summary(long, 30);
        assert!(cut.chars().count() <= 30, "{cut}");
        assert_eq!(cut, "IMDS refuses connections when…");
        assert!(long.starts_with(cut.trim_end_matches('…')));
    }
}
