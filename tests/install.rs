//! `make install` and `make uninstall`, as a user runs them. The test uses a temporary `HOME` and
//! `XDG_CONFIG_HOME` and a temporary `PREFIX`. Then kubectl builds an example overlay from an
//! empty environment (`env -i`) that has only the installed `bin` and kubectl's directory on
//! `PATH`. That shows the plugin is where kustomize looks and `envpolicy` is where the shell does.
//!
//! Each plugin home kustomize knows is covered: `$XDG_CONFIG_HOME/kustomize/plugin`,
//! `$KUSTOMIZE_PLUGIN_HOME`, and `$HOME/.config/kustomize/plugin`. The release binary is built
//! at most once, by the first `make install`. The later ones must find it fresh.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

const PLUGIN: &str = "envpolicy.dev/v1alpha1/environmentpolicy/EnvironmentPolicy";
const OVERLAY: &str = "functions/envpolicy/examples/kustomize/overlays/dev";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding `tool` on PATH; the test fails, never skips, without it.
fn dir_of(tool: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .find(|dir| dir.join(tool).is_file())
        .unwrap_or_else(|| panic!("`{tool}` is not on PATH; this test runs the real {tool}"))
}

fn describe(what: &str, out: &Output) -> String {
    format!(
        "{what}: {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The user's environment for one install: a temporary HOME, optionally XDG_CONFIG_HOME and
/// KUSTOMIZE_PLUGIN_HOME.
struct UserEnv {
    home: PathBuf,
    xdg_config_home: Option<PathBuf>,
    plugin_home: Option<PathBuf>,
}

impl UserEnv {
    /// Where kustomize looks for the plugin in this environment, as `make install` must put it.
    fn plugin(&self) -> PathBuf {
        match (&self.plugin_home, &self.xdg_config_home) {
            (Some(plugin_home), _) => plugin_home.join(PLUGIN),
            (None, Some(xdg)) => xdg.join("kustomize/plugin").join(PLUGIN),
            (None, None) => self.home.join(".config/kustomize/plugin").join(PLUGIN),
        }
    }

    /// `make TARGET PREFIX=...` in the repository with this environment. Cargo and rustup keep
    /// their own homes (they default to ones under HOME, which is temporary here). Variables
    /// the Makefile would read as its own (PREFIX, PLUGIN_HOME) and an outer make's jobserver
    /// are removed.
    fn make(&self, target: &str, prefix: &Path) -> Output {
        let real_home = PathBuf::from(std::env::var_os("HOME").expect("HOME"));
        let tool_home = |var: &str, default: &str| {
            std::env::var_os(var).unwrap_or_else(|| real_home.join(default).into_os_string())
        };
        let mut cmd = Command::new("make");
        cmd.arg(target)
            .arg(format!("PREFIX={}", prefix.display()))
            .current_dir(repo())
            .env("CARGO_HOME", tool_home("CARGO_HOME", ".cargo"))
            .env("RUSTUP_HOME", tool_home("RUSTUP_HOME", ".rustup"))
            .env("HOME", &self.home);
        for var in [
            "XDG_CONFIG_HOME",
            "KUSTOMIZE_PLUGIN_HOME",
            "PREFIX",
            "PLUGIN_HOME",
            "MAKEFLAGS",
            "MAKELEVEL",
            "MFLAGS",
            "CARGO_MAKEFLAGS",
            "CARGO_TARGET_DIR",
        ] {
            cmd.env_remove(var);
        }
        if let Some(xdg) = &self.xdg_config_home {
            cmd.env("XDG_CONFIG_HOME", xdg);
        }
        if let Some(plugin_home) = &self.plugin_home {
            cmd.env("KUSTOMIZE_PLUGIN_HOME", plugin_home);
        }
        let started = Instant::now();
        let out = cmd.output().expect("run make");
        eprintln!(
            "make {target} ({}) in {:.1}s",
            self.describe(),
            started.elapsed().as_secs_f64()
        );
        assert!(
            out.status.success(),
            "{}",
            describe(&format!("make {target}"), &out)
        );
        out
    }

    /// `cmd args` in a fresh environment: only PATH (the installed bin, then kubectl's
    /// directory), HOME and the plugin variables this environment sets.
    fn fresh(&self, prefix: &Path, program: &str, args: &[&str]) -> Output {
        let path = std::env::join_paths([prefix.join("bin"), dir_of("kubectl")]).expect("PATH");
        let mut cmd = Command::new("env");
        cmd.arg("-i")
            .arg(format!("PATH={}", path.to_string_lossy()))
            .arg(format!("HOME={}", self.home.display()));
        if let Some(xdg) = &self.xdg_config_home {
            cmd.arg(format!("XDG_CONFIG_HOME={}", xdg.display()));
        }
        if let Some(plugin_home) = &self.plugin_home {
            cmd.arg(format!("KUSTOMIZE_PLUGIN_HOME={}", plugin_home.display()));
        }
        cmd.arg(program).args(args).current_dir(repo());
        cmd.output()
            .unwrap_or_else(|e| panic!("run {program}: {e}"))
    }

    fn describe(&self) -> String {
        match (&self.plugin_home, &self.xdg_config_home) {
            (Some(_), _) => "KUSTOMIZE_PLUGIN_HOME set".to_string(),
            (None, Some(_)) => "XDG_CONFIG_HOME set".to_string(),
            (None, None) => "HOME only".to_string(),
        }
    }

    /// kubectl finds the installed plugin and the dev policy applies: one replica of each
    /// workload, a preferred anti-affinity term.
    fn assert_overlay_builds(&self, prefix: &Path) {
        let out = self.fresh(
            prefix,
            "kubectl",
            &["kustomize", "--enable-alpha-plugins", OVERLAY],
        );
        let what = format!("kubectl kustomize ({})", self.describe());
        assert!(out.status.success(), "{}", describe(&what, &out));
        let built = String::from_utf8_lossy(&out.stdout);
        assert!(built.contains("replicas: 1"), "{}", describe(&what, &out));
        assert!(
            !built.contains("replicas: 2"),
            "the base's replica counts survived: {}",
            describe(&what, &out)
        );
        assert!(
            built.contains("preferredDuringSchedulingIgnoredDuringExecution"),
            "{}",
            describe(&what, &out)
        );
    }
}

fn assert_executable(path: &Path) {
    let mode = fs::metadata(path)
        .unwrap_or_else(|e| panic!("{} is not installed: {e}", path.display()))
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "{} is not executable", path.display());
}

/// Whether this make run compiled envpolicy (cargo says so on stderr).
fn compiled(out: &Output) -> bool {
    String::from_utf8_lossy(&out.stderr).contains("Compiling envpolicy")
}

#[test]
fn make_install_puts_envpolicy_where_kubectl_and_the_shell_find_it() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let prefix = tmp.path().join("prefix");
    let bin = prefix.join("bin/envpolicy");
    let xdg = UserEnv {
        home: tmp.path().join("home"),
        xdg_config_home: Some(tmp.path().join("xdg")),
        plugin_home: None,
    };
    let plugin_home = UserEnv {
        home: tmp.path().join("home"),
        xdg_config_home: Some(tmp.path().join("xdg-empty")),
        plugin_home: Some(tmp.path().join("kustomize-plugins")),
    };
    let home_only = UserEnv {
        home: tmp.path().join("home2"),
        xdg_config_home: None,
        plugin_home: None,
    };
    for env in [&xdg, &plugin_home, &home_only] {
        fs::create_dir_all(&env.home).expect("home");
    }
    fs::create_dir_all(tmp.path().join("xdg-empty")).expect("xdg-empty");

    // XDG_CONFIG_HOME set, no KUSTOMIZE_PLUGIN_HOME: the usual desktop.
    xdg.make("install", &prefix);
    assert_executable(&bin);
    assert_executable(&xdg.plugin());
    assert!(
        !xdg.home.join(".config").exists(),
        "make install wrote under HOME although XDG_CONFIG_HOME is set"
    );
    xdg.assert_overlay_builds(&prefix);
    let presets = xdg.fresh(&prefix, "envpolicy", &["presets"]);
    assert!(
        presets.status.success()
            && String::from_utf8_lossy(&presets.stdout).contains("kind: EnvironmentPolicy"),
        "{}",
        describe("envpolicy presets from PATH", &presets)
    );

    // KUSTOMIZE_PLUGIN_HOME wins over XDG_CONFIG_HOME, for make and for kustomize alike.
    let again = plugin_home.make("install", &prefix);
    assert!(
        !compiled(&again),
        "the second make install rebuilt envpolicy:\n{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_executable(&plugin_home.plugin());
    assert!(
        fs::read_dir(tmp.path().join("xdg-empty"))
            .expect("xdg-empty")
            .next()
            .is_none(),
        "make install wrote under XDG_CONFIG_HOME although KUSTOMIZE_PLUGIN_HOME is set"
    );
    plugin_home.assert_overlay_builds(&prefix);

    // Neither set: ~/.config/kustomize/plugin.
    let third = home_only.make("install", &prefix);
    assert!(
        !compiled(&third),
        "the third make install rebuilt envpolicy"
    );
    assert_executable(&home_only.plugin());
    home_only.assert_overlay_builds(&prefix);

    // make uninstall, with the environment of each install, removes what that one installed.
    for env in [&xdg, &plugin_home, &home_only] {
        env.make("uninstall", &prefix);
        assert!(
            !env.plugin().exists(),
            "{} is still there",
            env.plugin().display()
        );
        assert!(!bin.exists(), "{} is still there", bin.display());
        let out = env.fresh(
            &prefix,
            "kubectl",
            &["kustomize", "--enable-alpha-plugins", OVERLAY],
        );
        assert!(
            !out.status.success(),
            "kubectl still found a plugin after make uninstall ({}):\n{}",
            env.describe(),
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
