//! Where themes come from (built in, then the user's folder, or a file's
//! path), and which theme is in force in each context.

use super::Theme;
use crate::ui::glyphs::Glyphs;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The built-in themes, embedded at build time.
pub(super) const BUILT_IN: [(&str, &str); 6] = [
    ("default", include_str!("../../../themes/default.toml")),
    ("light", include_str!("../../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../../themes/high-contrast.toml"),
    ),
    (
        "colour-blind",
        include_str!("../../../themes/colour-blind.toml"),
    ),
    ("ansi16", include_str!("../../../themes/ansi16.toml")),
    ("mono", include_str!("../../../themes/mono.toml")),
];

/// A theme setting that is a file's path rather than a name.
fn is_path(setting: &str) -> bool {
    setting.contains('/') || setting.ends_with(".toml")
}

/// Why a theme cannot be used.
#[derive(Debug, Clone, PartialEq)]
pub enum ThemeError {
    /// Neither built in nor in the user's folder.
    Unknown { name: String, folder: PathBuf },
    /// A file that cannot be read, or is not a whole theme.
    Broken { file: PathBuf, why: String },
}

impl fmt::Display for ThemeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ThemeError::Unknown { name, folder } => write!(
                f,
                "unknown theme {name:?}: not built in ({}) and no {}",
                Theme::names().join(", "),
                folder.join(format!("{name}.toml")).display()
            ),
            ThemeError::Broken { file, why } => {
                write!(f, "theme file {}: {why}", file.display())
            }
        }
    }
}

/// The themes there are: the built-in ones, then the user's, each a
/// `NAME.toml` in one folder.
#[derive(Debug, Clone)]
pub struct ThemeLibrary {
    folder: PathBuf,
}

impl ThemeLibrary {
    /// With the user's themes in `$XDG_CONFIG_HOME/cutover/themes`.
    pub fn installed() -> ThemeLibrary {
        ThemeLibrary::in_folder(crate::paths::themes_dir())
    }

    pub fn in_folder(folder: PathBuf) -> ThemeLibrary {
        ThemeLibrary { folder }
    }

    /// A built-in theme by name, else the user's theme of that name, or
    /// the theme file at a path. A built-in name always means the built-in
    /// theme (see [`ThemeLibrary::shadowed`]).
    pub fn load(&self, setting: &str) -> Result<Theme, ThemeError> {
        if let Some(theme) = Theme::built_in(setting) {
            return Ok(theme);
        }
        let file = if is_path(setting) {
            PathBuf::from(setting)
        } else {
            let file = self.file_of(setting);
            if !file.exists() {
                return Err(ThemeError::Unknown {
                    name: setting.to_string(),
                    folder: self.folder.clone(),
                });
            }
            file
        };
        read(&file)
    }

    /// Every theme name: the built-in ones, then the user's.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Theme::names().into_iter().map(String::from).collect();
        let mut own: Vec<String> = std::fs::read_dir(&self.folder)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let path = entry.path();
                let stem = path.file_stem()?.to_str()?;
                (path.extension()? == "toml" && Theme::built_in(stem).is_none())
                    .then(|| stem.to_string())
            })
            .collect();
        own.sort();
        names.extend(own);
        names
    }

    /// The user's file named like the built-in theme `name`: never used,
    /// since the built-in name wins.
    pub fn shadowed(&self, name: &str) -> Option<PathBuf> {
        let file = self.file_of(name);
        (Theme::built_in(name).is_some() && file.exists()).then_some(file)
    }

    /// The warning for a user file that `name` does not reach.
    pub fn shadow_warning(&self, name: &str) -> Option<String> {
        self.shadowed(name).map(|file| {
            format!(
                "theme {name:?} is built in, so {} is not used: rename the file and the setting to use it",
                file.display()
            )
        })
    }

    fn file_of(&self, name: &str) -> PathBuf {
        self.folder.join(format!("{name}.toml"))
    }
}

fn read(file: &Path) -> Result<Theme, ThemeError> {
    let broken = |why: String| ThemeError::Broken {
        file: file.to_path_buf(),
        why,
    };
    let text = std::fs::read_to_string(file).map_err(|e| broken(e.to_string()))?;
    Theme::parse(&text).map_err(broken)
}

/// The theme settings, from the most to the least binding.
#[derive(Debug, Clone, Default)]
pub struct ThemeSettings<'a> {
    /// `--theme`.
    pub flag: Option<&'a str>,
    /// `[contexts.NAME] theme`, by context.
    pub contexts: BTreeMap<&'a str, &'a str>,
    /// The config file's top-level `theme`.
    pub top: Option<&'a str>,
    /// `NO_COLOR` is set: mono everywhere, whatever is asked.
    pub no_color: bool,
}

/// The theme in force in each context: `--theme`, else the context's
/// theme, else the top-level one, else `default`; `mono` under `NO_COLOR`.
#[derive(Debug, Clone)]
pub struct Themes {
    everywhere: Theme,
    by_context: BTreeMap<String, Theme>,
}

impl Themes {
    /// `theme` in every context.
    pub fn single(theme: Theme) -> Themes {
        Themes {
            everywhere: theme,
            by_context: BTreeMap::new(),
        }
    }

    /// The themes `settings` ask for, drawn with `glyphs`, and a warning
    /// for each that cannot be used (the next setting down is used
    /// instead; for `--theme`, the default).
    pub fn choose(
        library: &ThemeLibrary,
        settings: &ThemeSettings<'_>,
        glyphs: Glyphs,
    ) -> (Themes, Vec<String>) {
        let mut warnings = Vec::new();
        let mut load = |setting: &str| match library.load(setting) {
            Ok(theme) => {
                warnings.extend(library.shadow_warning(setting));
                Some(Theme { glyphs, ..theme })
            }
            Err(e) => {
                warnings.push(format!("{e}; it is not used"));
                None
            }
        };
        let fallback = Theme {
            glyphs,
            ..Theme::for_environment(settings.no_color)
        };
        if settings.no_color {
            return (Themes::single(fallback), warnings);
        }
        if let Some(flag) = settings.flag {
            let theme = load(flag).unwrap_or(fallback);
            return (Themes::single(theme), warnings);
        }
        let everywhere = settings.top.and_then(&mut load).unwrap_or(fallback);
        let by_context = settings
            .contexts
            .iter()
            .filter_map(|(context, setting)| Some((context.to_string(), load(setting)?)))
            .collect();
        let themes = Themes {
            everywhere,
            by_context,
        };
        (themes, warnings)
    }

    /// The theme to draw `context` in.
    pub fn for_context(&self, context: &str) -> &Theme {
        self.by_context.get(context).unwrap_or(&self.everywhere)
    }
}
