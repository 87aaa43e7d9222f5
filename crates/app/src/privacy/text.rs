//! Personal data in what people write. Descriptions and notes carry what category rules cannot
//! catch: mobile and fixed-line numbers, ID card numbers, licence plates of zombie and parked
//! cars, e-mail addresses, names with 先生/女士. Public outputs show [`mask_personal`] of the
//! text; staff see it whole. One function, so REST, OGC, Open311 and the history agree.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// The character that stands for a hidden one.
const MASK: char = '*';
/// Passes of one pattern over a text; see [`mask_personal`].
const MAX_PASSES: usize = 4;

/// Each pattern with what it keeps. Order matters: ID card numbers (18 digits) before mobile
/// numbers (11), which would otherwise match inside them; plates before names.
static PATTERNS: LazyLock<Vec<(Regex, Keep)>> = LazyLock::new(|| {
    let p = |re: &str, keep| (Regex::new(re).expect("a valid built-in pattern"), keep);
    vec![
        // Resident ID: 6-digit area, birth date 18xx–20xx, 3-digit sequence, check digit; and the
        // old 15-digit form. Digits around the number must not continue it.
        p(
            r"(^|[^0-9])([1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx])($|[^0-9])",
            Keep::Ends(3, 2),
        ),
        p(
            r"(^|[^0-9])([1-9][0-9]{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3})($|[^0-9])",
            Keep::Ends(3, 2),
        ),
        // Mobile: 1[3-9] and nine digits, spaces or hyphens allowed as people write them.
        p(
            r"(^|[^0-9])(1[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4})($|[^0-9])",
            Keep::Ends(3, 2),
        ),
        // Fixed line with area code: 021-65981234, (021)65981234, 0512 6598123.
        p(
            r"(^|[^0-9])((?:\(0[0-9]{2,3}\)|0[0-9]{2,3}[ -]?)[0-9]{7,8})($|[^0-9])",
            Keep::Ends(4, 0),
        ),
        // Licence plates: province, issuing letter, optional separator, 5 (petrol) or 6
        // (new-energy) letters and digits. 沪A·12345 → 沪A·1****.
        p(
            r"()([京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z][·•・.\- ]?[A-HJ-NP-Z0-9]{5,6})()",
            Keep::Plate,
        ),
        // E-mail: the first character of the local part stays.
        p(
            r"()([A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,})()",
            Keep::Email,
        ),
        // A name before a form of address: up to three Han characters, all hidden (where a name
        // starts cannot be told from the text, so a word before it may go too).
        p(
            r"()(\p{Han}{1,3})(先生|女士|小姐|阿姨|大爷|师傅)",
            Keep::Ends(0, 0),
        ),
    ]
});

#[derive(Debug, Clone, Copy)]
enum Keep {
    /// Keep this many characters at the start and at the end, hide the rest.
    Ends(usize, usize),
    /// Province, letter, separator and the first character of the number.
    Plate,
    /// The first character of the local part and the whole domain.
    Email,
}

/// `text` as the public may read it: personal data masked with `*`, one per hidden character,
/// everything else unchanged. Borrowed when nothing was found.
///
/// ```
/// use civmap_app::privacy::mask_personal;
/// assert_eq!(mask_personal("僵尸车 沪A·12345 停了三个月"), "僵尸车 沪A·1**** 停了三个月");
/// assert_eq!(mask_personal("请联系13812345678"), "请联系138******78");
/// assert_eq!(mask_personal("楼道堆物"), "楼道堆物");
/// ```
#[must_use]
pub fn mask_personal(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    for (re, keep) in PATTERNS.iter() {
        // Again while it matches: a match takes the character after it, so the second of two
        // numbers a comma apart is found on the next pass. Masked characters are `*`, which no
        // pattern matches, so the passes end.
        for _ in 0..MAX_PASSES {
            if !re.is_match(&out) {
                break;
            }
            let replaced = re
                .replace_all(&out, |c: &Captures<'_>| {
                    format!("{}{}{}", &c[1], masked(&c[2], *keep), &c[3])
                })
                .into_owned();
            out = Cow::Owned(replaced);
        }
    }
    out
}

fn masked(found: &str, keep: Keep) -> String {
    let chars: Vec<char> = found.chars().collect();
    let shown = |i: usize| match keep {
        Keep::Ends(head, tail) => i < head || i + tail >= chars.len(),
        // Everything up to and including the first character after the issuing letter and
        // the separator, if any.
        Keep::Plate => {
            let sep = usize::from(chars.get(2).is_some_and(|c| !c.is_ascii_alphanumeric()));
            i < 3 + sep
        }
        Keep::Email => {
            let at = chars.iter().position(|&c| c == '@').unwrap_or(chars.len());
            i == 0 || i >= at
        }
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            // Separators inside a number stay, so the masked text reads like the original.
            if shown(i) || matches!(c, ' ' | '-' | '(' | ')') {
                c
            } else {
                MASK
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::mask_personal;

    /// One fixture per pattern, as people write them in reports.
    #[test]
    fn each_kind_of_personal_data_is_masked() {
        let cases = [
            ("电话13812345678", "电话138******78"),
            ("电话 139-1234-5678 找他", "电话 139-****-**78 找他"),
            ("座机021-65981234", "座机021-********"),
            (
                "身份证310110198503127715在车上",
                "身份证310*************15在车上",
            ),
            ("老身份证 310110850312771 号", "老身份证 310**********71 号"),
            ("身份证31011019850312771X", "身份证310*************1X"),
            ("沪A·12345 僵尸车", "沪A·1**** 僵尸车"),
            ("新能源沪AD12345违停", "新能源沪AD*****违停"),
            ("13812345678,13912345678", "138******78,139******78"),
            ("车牌苏E 8K9Q2", "车牌苏E 8****"),
            (
                "邮箱 wang.jianguo@example.com",
                "邮箱 w***********@example.com",
            ),
            ("王建国先生家门口", "***先生家门口"),
            ("李女士反映", "*女士反映"),
        ];
        for (text, want) in cases {
            assert_eq!(mask_personal(text), want, "{text}");
        }
    }

    #[test]
    fn text_without_personal_data_is_unchanged_and_borrowed() {
        for text in [
            "楼道堆物，影响通行",
            "四平路1239号门口共享单车乱停",
            "第3次回潮，2026年12月06日",
            "约20辆电动车飞线充电",
        ] {
            let out = mask_personal(text);
            assert!(
                matches!(out, std::borrow::Cow::Borrowed(_)),
                "{text} → {out}"
            );
        }
    }

    #[test]
    fn digits_next_to_a_number_keep_it_from_matching() {
        // 12 digits is no mobile number; 19 digits no ID card.
        assert_eq!(mask_personal("编号138123456789"), "编号138123456789");
        assert_eq!(mask_personal("3101101985031277150"), "3101101985031277150");
    }
}
