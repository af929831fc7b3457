//! The command line and the environment resolved once into the plain
//! configuration types of `config` (nothing below `commands` reads a flag):
//! the reporting flags, the Hub endpoint and `HF_HUB_OFFLINE`, output and
//! colour.

use anyhow::Result;

use crate::cli::{ColorChoice, HubArgs, OutputArgs, ReportArgs};
use crate::config::{
    Depth, DetectConfig, ExitPolicy, FailOn, FilterConfig, OutputConfig, RunConfig, VerifyConfig,
};
use crate::ui;
use crate::verify::{DEFAULT_ENDPOINT, Endpoint};

/// Resolves the reporting flags and the environment (`HF_ENDPOINT`,
/// `HF_HUB_OFFLINE`, `NO_COLOR`) once. An endpoint tokens must not go to
/// is an error here, before anything is read or sent, whenever
/// verification would run.
pub fn resolve(args: &ReportArgs) -> Result<RunConfig> {
    resolve_with(args, |k| std::env::var(k).ok())
}

fn resolve_with(args: &ReportArgs, env: impl Fn(&str) -> Option<String>) -> Result<RunConfig> {
    let deep = args.analyze || args.verify == Some(Depth::Deep);
    let enabled =
        args.verify.is_some() || deep || args.only_verified || args.fail_on == FailOn::Valid;
    let (offline, endpoint) = hub_endpoint(&args.hub, &env);
    let endpoint = match endpoint {
        Ok(e) => e,
        Err(msg) if enabled && !offline => anyhow::bail!(msg),
        Err(_) => Endpoint::parse(DEFAULT_ENDPOINT).expect("the default endpoint is valid"),
    };
    let d = &args.detect;
    Ok(RunConfig {
        rules: args.rules.rules.clone(),
        detect: DetectConfig {
            decode: !d.no_decode,
            max_decode_depth: d.max_decode_depth,
            archives: !d.no_archives,
            max_archive_depth: d.max_archive_depth,
            max_archive_bytes: d.max_archive_size,
            max_archive_ratio: d.max_archive_ratio,
            ..DetectConfig::default()
        },
        filters: FilterConfig {
            baseline: args.baseline.clone(),
            ignore_files: args.ignore_file.clone(),
        },
        verify: VerifyConfig {
            enabled,
            offline,
            endpoint,
            timeout: std::time::Duration::from_secs_f64(args.hub.verify_timeout.max(0.001)),
            concurrency: args.verify_concurrency.max(1),
            analyze_max_repos: deep.then_some(args.analyze_max_repos),
            only_verified: args.only_verified,
        },
        output: output_config(&args.out, args.show_secrets, &env),
        exit: ExitPolicy {
            findings_code: args.exit_code,
            fail_on: args.fail_on,
        },
        threads: args.threads,
        progress: !args.no_progress,
        quiet: args.quiet,
    })
}

/// Whether the Hub is off limits (`--offline`, `HF_HUB_OFFLINE`), and the
/// endpoint (`--hf-endpoint`, else `HF_ENDPOINT`, else the default) or why
/// tokens must not go there.
fn hub_endpoint(
    args: &HubArgs,
    env: &impl Fn(&str) -> Option<String>,
) -> (bool, Result<Endpoint, String>) {
    let offline = args.offline || env("HF_HUB_OFFLINE").is_some_and(|v| is_true(&v));
    let url = args
        .hf_endpoint
        .clone()
        .or_else(|| env("HF_ENDPOINT").filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
    (offline, Endpoint::parse(&url))
}

/// The Hub settings of a command that talks to the Hub whatever its other
/// flags (`revoke`): an endpoint tokens must not go to is an error.
pub fn resolve_hub(args: &HubArgs) -> Result<(bool, Endpoint, std::time::Duration)> {
    let (offline, endpoint) = hub_endpoint(args, &|k| std::env::var(k).ok());
    let endpoint = endpoint.map_err(anyhow::Error::msg)?;
    let timeout = std::time::Duration::from_secs_f64(args.verify_timeout.max(0.001));
    Ok((offline, endpoint, timeout))
}

/// Where the report goes, in what format, coloured or not.
fn output_config(
    args: &OutputArgs,
    show_secrets: bool,
    env: &impl Fn(&str) -> Option<String>,
) -> OutputConfig {
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => ui::stdout_is_terminal() && env("NO_COLOR").is_none(),
    };
    OutputConfig {
        format: args.format,
        files: args.output.clone(),
        show_secrets,
        color,
        group: !args.no_group,
    }
}

/// [`output_config`] from the process environment (`hfleaks report`).
pub fn resolve_output(args: &OutputArgs) -> OutputConfig {
    output_config(args, false, &|k| std::env::var(k).ok())
}

/// huggingface_hub's reading of a boolean environment variable.
fn is_true(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_uppercase().as_str(),
        "1" | "ON" | "YES" | "TRUE"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::path::PathBuf;

    fn args(extra: &[&str]) -> ReportArgs {
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            r: ReportArgs,
        }
        let mut argv = vec!["t"];
        argv.extend(extra);
        T::parse_from(argv).r
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn verify_config(flags: &[&str], env: impl Fn(&str) -> Option<String>) -> VerifyConfig {
        resolve_with(&args(flags), env).unwrap().verify
    }

    #[test]
    fn verification_is_off_unless_asked() {
        assert!(!verify_config(&[], no_env).enabled);
        for flags in [
            &["--verify"][..],
            &["--verify=deep"],
            &["--analyze"],
            &["--only-verified"],
            &["--fail-on", "valid"],
        ] {
            assert!(verify_config(flags, no_env).enabled, "{flags:?}");
        }
        let deep = verify_config(&["--verify=deep"], no_env);
        assert_eq!(deep.analyze_max_repos, Some(1000));
    }

    #[test]
    fn endpoint_comes_from_flag_then_env_then_default() {
        let env = |k: &str| (k == "HF_ENDPOINT").then(|| "https://hub.example/".to_string());
        let o = verify_config(&["--verify"], env);
        assert_eq!(o.endpoint.base(), "https://hub.example");
        let o = verify_config(&["--verify", "--hf-endpoint", "https://b.example"], env);
        assert_eq!(o.endpoint.base(), "https://b.example");
        let o = verify_config(&["--verify"], no_env);
        assert_eq!(o.endpoint.base(), DEFAULT_ENDPOINT);
    }

    #[test]
    fn plain_http_endpoint_is_an_error_only_when_verifying() {
        let bad = ["--hf-endpoint", "http://example.invalid"];
        assert!(resolve_with(&args(&bad), no_env).is_ok());
        let mut verifying = bad.to_vec();
        verifying.push("--verify");
        let e = resolve_with(&args(&verifying), no_env).unwrap_err();
        assert!(e.to_string().contains("plain http"), "{e}");
    }

    #[test]
    fn hf_hub_offline_is_read_like_huggingface_hub() {
        for (v, offline) in [
            ("1", true),
            ("true", true),
            ("ON", true),
            ("0", false),
            ("", false),
        ] {
            let env = |k: &str| (k == "HF_HUB_OFFLINE").then(|| v.to_string());
            assert_eq!(verify_config(&["--verify"], env).offline, offline, "{v:?}");
        }
    }

    #[test]
    fn output_and_exit_flags_are_resolved() {
        let c = resolve_with(
            &args(&["--color", "always", "-o", "a.sarif", "--exit-code", "7"]),
            no_env,
        )
        .unwrap();
        assert!(c.output.color);
        assert_eq!(c.output.files, [PathBuf::from("a.sarif")]);
        assert_eq!(c.exit.findings_code, 7);
        let env = |k: &str| (k == "NO_COLOR").then(|| "1".to_string());
        assert!(!resolve_with(&args(&[]), env).unwrap().output.color);
    }

    #[test]
    fn detection_flags_default_to_the_config_defaults() {
        let d = resolve_with(&args(&[]), no_env).unwrap().detect;
        let expect = DetectConfig::default();
        assert_eq!(
            (
                d.decode,
                d.max_decode_depth,
                d.archives,
                d.max_archive_depth
            ),
            (
                expect.decode,
                expect.max_decode_depth,
                expect.archives,
                expect.max_archive_depth
            )
        );
        assert_eq!(
            (d.max_archive_bytes, d.max_archive_ratio, d.max_member_bytes),
            (
                expect.max_archive_bytes,
                expect.max_archive_ratio,
                expect.max_member_bytes
            )
        );
    }
}
