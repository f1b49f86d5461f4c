//! The interface language: English or Chinese (`--lang`, `NETASSIST_LANG`, then the locale
//! variables `LC_ALL`, `LC_MESSAGES`, `LANG` as POSIX orders them). Messages live in
//! `locales/netassist.toml`, both languages side by side; `build.rs` fails the build when a
//! message lacks one of them. JSON keys, `reason` codes and exit codes never come from
//! here: they are the same in every language.

use std::ffi::OsString;

/// A language of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// English
    En,
    /// 中文 (简体)
    Zh,
}

impl Lang {
    /// rust-i18n's name for it.
    pub fn locale(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }

    /// `zh`, `zh_CN.UTF-8`, `zh-TW` → Chinese; `C`, `en_US`, anything else → English.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let tag = tag.trim();
        if tag.is_empty() {
            return None;
        }
        let lower = tag.to_ascii_lowercase();
        if lower == "zh" || lower.starts_with("zh_") || lower.starts_with("zh-") || lower.starts_with("zh.") {
            Some(Lang::Zh)
        } else {
            Some(Lang::En)
        }
    }

    /// The language the environment asks for: `NETASSIST_LANG`, else the first set of
    /// `LC_ALL`, `LC_MESSAGES`, `LANG`; English when none is set.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Lang {
        ["NETASSIST_LANG", "LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .find_map(|name| get(name).and_then(|v| Lang::from_tag(&v)))
            .unwrap_or(Lang::En)
    }

    /// `--lang X` or `--lang=X` anywhere on the command line wins over the environment (read
    /// before clap parses, so `--help` and clap's own errors are in that language too).
    pub fn from_args(args: &[OsString]) -> Option<Lang> {
        let mut words = args.iter().map(|a| a.to_string_lossy());
        while let Some(word) = words.next() {
            if word == "--" {
                break;
            }
            let value = match word.strip_prefix("--lang") {
                Some("") => words.next().map(|v| v.into_owned()),
                Some(rest) => match rest.strip_prefix('=') {
                    Some(v) => Some(v.to_string()),
                    None => continue,
                },
                None => continue,
            };
            return value.and_then(|v| match v.trim().to_ascii_lowercase().as_str() {
                "zh" | "zh-cn" | "cn" | "chinese" | "中文" => Some(Lang::Zh),
                "en" | "english" => Some(Lang::En),
                _ => None,
            });
        }
        None
    }
}

/// `clap::ValueEnum` whose `--help` texts come from the messages, in the language of the
/// moment (clap's derive would fix them in English at compile time).
macro_rules! value_enum {
    ($ty:ident { $($variant:ident => $name:literal, t!($key:literal)),* $(,)? }) => {
        impl clap::ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                &[$($ty::$variant),*]
            }
            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(match self {
                    $($ty::$variant => clap::builder::PossibleValue::new($name).help(rust_i18n::t!($key).into_owned())),*
                })
            }
        }
    };
}
pub(crate) use value_enum;

/// Makes `lang` the language of every message from now on.
pub fn set(lang: Lang) {
    rust_i18n::set_locale(lang.locale());
}

/// The language messages are in now.
pub fn current() -> Lang {
    if &*rust_i18n::locale() == "zh-CN" { Lang::Zh } else { Lang::En }
}

/// "error" as the first word of an error line.
pub fn error_label() -> String {
    rust_i18n::t!("human.error").into_owned()
}

/// A message in the Chinese of `--help`, if there is one (`help.*` keys).
pub fn zh_help(key: &str) -> Option<String> {
    crate::_rust_i18n_try_translate("zh-CN", key).map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Lang {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Lang::from_env(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn the_environment_chooses_in_posix_order() {
        assert_eq!(env(&[]), Lang::En);
        assert_eq!(env(&[("LANG", "zh_CN.UTF-8")]), Lang::Zh);
        assert_eq!(env(&[("LANG", "zh_TW.Big5")]), Lang::Zh);
        assert_eq!(env(&[("LANG", "en_US.UTF-8")]), Lang::En);
        assert_eq!(env(&[("LANG", "zh_CN.UTF-8"), ("LC_ALL", "C")]), Lang::En);
        assert_eq!(env(&[("LANG", "C"), ("LC_MESSAGES", "zh_CN.UTF-8")]), Lang::Zh);
        // An empty variable is as if unset.
        assert_eq!(env(&[("LANG", "zh_CN.UTF-8"), ("LC_ALL", "")]), Lang::Zh);
        assert_eq!(env(&[("LANG", "zh_CN.UTF-8"), ("NETASSIST_LANG", "en")]), Lang::En);
        assert_eq!(env(&[("NETASSIST_LANG", "zh")]), Lang::Zh);
    }

    #[test]
    fn the_command_line_wins() {
        let words = |w: &[&str]| w.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(Lang::from_args(&words(&["netassist", "listen", "--lang", "zh"])), Some(Lang::Zh));
        assert_eq!(Lang::from_args(&words(&["netassist", "--lang=en", "listen"])), Some(Lang::En));
        assert_eq!(Lang::from_args(&words(&["netassist", "listen", "9090"])), None);
        assert_eq!(Lang::from_args(&words(&["netassist", "connect", "--", "--lang", "zh"])), None);
        assert_eq!(Lang::from_args(&words(&["netassist", "--language", "zh"])), None);
    }

    #[test]
    fn both_languages_are_built_in() {
        assert_eq!(rust_i18n::t!("lang.name", locale = "en"), "English");
        assert_eq!(rust_i18n::t!("lang.name", locale = "zh-CN"), "中文");
    }
}
