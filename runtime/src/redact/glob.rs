//! Case-insensitive wildcard patterns for keys and names.

/// A case-insensitive key pattern; `*` matches any run of characters.
#[derive(Clone, Debug)]
#[cfg_attr(not(feature = "enabled"), allow(dead_code))]
pub(crate) struct KeyPattern(Vec<u8>);

#[cfg_attr(not(feature = "enabled"), allow(dead_code))]
impl KeyPattern {
    pub(crate) fn new(pattern: &str) -> Self {
        KeyPattern(pattern.to_ascii_lowercase().into_bytes())
    }

    /// Wildcard matching, greedy with backtracking to the last `*`.
    pub(crate) fn matches(&self, key: &str) -> bool {
        glob(&self.0, key.as_bytes())
    }

    /// The source pattern, lowercased.
    pub(crate) fn source(&self) -> &[u8] {
        &self.0
    }

    /// [`matches`](Self::matches) on a key already lowercased (ASCII).
    pub(crate) fn matches_lowercase(&self, t: &[u8]) -> bool {
        glob(&self.0, t)
    }
}

/// `*`-wildcard matching of a lowercase pattern `p` against `t`, ASCII
/// case-insensitively: greedy, with backtracking to the last `*`. A `const fn`,
/// so that generated code can match the built-in secret keys at compile time.
#[cfg_attr(not(feature = "enabled"), allow(dead_code))]
pub(crate) const fn glob(p: &[u8], t: &[u8]) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti].to_ascii_lowercase() {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() {
        if p[pi] != b'*' {
            return false;
        }
        pi += 1;
    }
    true
}
