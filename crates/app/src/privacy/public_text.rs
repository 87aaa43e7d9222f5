//! What the public reads for a description the street office acted on: its public wording, or
//! that it is hidden. The office's changes are stored in `public_texts` (see
//! [`crate::moderation`]) and kept here in memory as one small map, replaced whole on each
//! change (they are rare; readers take the map once per request and never wait on a writer).

use std::borrow::Cow;
use std::collections::HashMap;

use civmap_domain::ProblemId;
use civmap_store::PublicText;

use super::text::mask_personal;

/// What the public reads in place of a description the office hid.
pub const HIDDEN_DESCRIPTION: &str = "（内容已隐藏）";

/// The public wordings by problem.
#[derive(Debug, Clone, Default)]
pub struct PublicTexts(HashMap<ProblemId, PublicText>);

impl PublicTexts {
    #[must_use]
    pub fn from_rows(rows: Vec<PublicText>) -> Self {
        Self(rows.into_iter().map(|t| (t.problem, t)).collect())
    }

    /// The same map with `t` set.
    #[must_use]
    pub fn with(&self, t: PublicText) -> Self {
        let mut m = self.0.clone();
        m.insert(t.problem, t);
        Self(m)
    }

    /// The office's public wording of `id`, if it set one.
    #[must_use]
    pub fn get(&self, id: ProblemId) -> Option<&PublicText> {
        self.0.get(&id)
    }

    /// `description` of problem `id` as the public may read it: the office's wording, or
    /// [`HIDDEN_DESCRIPTION`], or the description as written — each with personal data masked
    /// ([`mask_personal`]; the office's own wording too, in case it quotes the original).
    ///
    /// ```
    /// use civmap_app::privacy::PublicTexts;
    /// use civmap_domain::ProblemId;
    /// let none = PublicTexts::default();
    /// assert_eq!(none.describe(ProblemId::new(), "请联系13812345678"), "请联系138******78");
    /// ```
    #[must_use]
    pub fn describe<'a>(&'a self, id: ProblemId, description: &'a str) -> Cow<'a, str> {
        match self.0.get(&id) {
            None => mask_personal(description),
            Some(t) if t.hidden => Cow::Borrowed(HIDDEN_DESCRIPTION),
            Some(t) => mask_personal(&t.text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn wording_hidden_or_masked_original() {
        let (a, b, c) = (ProblemId::new(), ProblemId::new(), ProblemId::new());
        let texts = PublicTexts::default()
            .with(PublicText {
                problem: a,
                text: "路口纸箱堆放，联系王先生".into(),
                hidden: false,
                updated_at: Utc::now(),
                updated_by: None,
            })
            .with(PublicText {
                problem: b,
                text: String::new(),
                hidden: true,
                updated_at: Utc::now(),
                updated_by: None,
            });
        assert_eq!(
            texts.describe(a, "原文 13812345678"),
            "路口纸箱堆放，***先生"
        );
        assert_eq!(texts.describe(b, "原文 沪A·12345"), HIDDEN_DESCRIPTION);
        assert_eq!(texts.describe(c, "原文 沪A·12345"), "原文 沪A·1****");
        assert!(PublicTexts::default().get(a).is_none());
    }
}
