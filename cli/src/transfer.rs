//! `import` and `export`: other apps' export files in (previewed, then stored in one
//! transaction), this vault out to the formats other apps read, with the file password
//! asked on a terminal or read as one line of stdin after the PIN line.

use crate::context::Context;
use crate::output::{label, print_json, sanitize, AccountJson};
use crate::prompt::{confirm, ensure_unlocked, read_new_secret, require_secret};
use crate::CliError;
use anyhow::Context as _;
use authenticator_core::{
    AuthenticatorError, ExportFormat, ExportResult, ImportFormat, ImportPreview, TransferNote,
};
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use zeroize::Zeroizing;

/// `--format` of `import`.
pub fn parse_import_format(s: &str) -> Result<ImportFormat, String> {
    const NAMES: &str =
        "aegis, 2fas, bitwarden, bitwarden-csv, andotp, freeotp-plus, ente, uri-list";
    let f = match s.trim().to_ascii_lowercase().as_str() {
        "aegis" => ImportFormat::Aegis,
        "2fas" => ImportFormat::TwoFas,
        "bitwarden" => ImportFormat::Bitwarden,
        "bitwarden-csv" => ImportFormat::BitwardenCsv,
        "andotp" => ImportFormat::AndOtp,
        "freeotp-plus" => ImportFormat::FreeOtpPlus,
        "ente" => ImportFormat::Ente,
        "uri-list" => ImportFormat::UriList,
        _ => return Err(format!("unknown format; one of: {NAMES}")),
    };
    Ok(f)
}

/// `--format` of `export`.
pub fn parse_export_format(s: &str) -> Result<ExportFormat, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "aegis" => Ok(ExportFormat::Aegis),
        "aegis-plain" => Ok(ExportFormat::AegisPlain),
        "uri-list" => Ok(ExportFormat::UriList),
        "google" => Ok(ExportFormat::Google),
        _ => Err("unknown format; one of: aegis, aegis-plain, uri-list, google".into()),
    }
}

fn export_name(f: ExportFormat) -> &'static str {
    match f {
        ExportFormat::Aegis => "aegis",
        ExportFormat::AegisPlain => "aegis-plain",
        ExportFormat::UriList => "uri-list",
        ExportFormat::Google => "google",
    }
}

/// An entry not imported or exported, and why.
#[derive(Debug, Serialize)]
struct NoteJson {
    entry: String,
    reason: String,
}

fn notes(list: &[TransferNote]) -> Vec<NoteJson> {
    list.iter()
        .map(|n| NoteJson {
            entry: sanitize(&n.entry),
            reason: sanitize(&n.reason),
        })
        .collect()
}

/// `import --json`.
#[derive(Debug, Serialize)]
struct ImportJson {
    format: String,
    imported: Vec<AccountJson>,
    skipped: Vec<NoteJson>,
    refused: Vec<NoteJson>,
}

fn print_import_preview(out: &mut dyn Write, p: &ImportPreview) -> anyhow::Result<()> {
    let format = authenticator_core::import_format_name(p.format);
    writeln!(
        out,
        "{format} file: {} to add, {} to skip, {} refused",
        p.accounts.len(),
        p.skipped.len(),
        p.refused.len()
    )?;
    for a in &p.accounts {
        writeln!(out, "  add     {}", sanitize(&label(&a.issuer, &a.name)))?;
    }
    for s in &p.skipped {
        writeln!(
            out,
            "  skip    {}: {}",
            sanitize(&s.entry),
            sanitize(&s.reason)
        )?;
    }
    for r in &p.refused {
        writeln!(
            out,
            "  refuse  {}: {}",
            sanitize(&r.entry),
            sanitize(&r.reason)
        )?;
    }
    Ok(())
}

/// `authenticator import FILE [--format F] [--json] [--yes]`.
pub fn import(
    ctx: &Context,
    file: &Path,
    format: Option<ImportFormat>,
    json: bool,
    yes: bool,
) -> anyhow::Result<()> {
    let bytes = Zeroizing::new(
        std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?,
    );
    ensure_unlocked(&ctx.auth)?;
    let mut password: Option<Zeroizing<String>> = None;
    let preview = match ctx.auth.preview_import(bytes.to_vec(), format, None) {
        Err(AuthenticatorError::PasswordRequired) => {
            let p = require_secret("File password: ", "file password")?;
            let preview =
                ctx.auth
                    .preview_import(bytes.to_vec(), format, Some(String::clone(&p)))?;
            password = Some(p);
            preview
        }
        other => other?,
    };
    {
        let mut err = std::io::stderr();
        let mut stdout = std::io::stdout();
        let out: &mut dyn Write = if json { &mut err } else { &mut stdout };
        print_import_preview(out, &preview)?;
    }
    if preview.accounts.is_empty() {
        eprintln!("nothing to import");
    } else if !yes && !confirm("Import these accounts?")? {
        return Err(CliError::new("cancelled; nothing was imported").into());
    }
    let done = ctx.auth.import_file(
        bytes.to_vec(),
        format,
        password.as_deref().map(String::from),
    )?;
    if json {
        print_json(&ImportJson {
            format: authenticator_core::import_format_name(done.format),
            imported: done.imported.iter().map(AccountJson::from).collect(),
            skipped: notes(&done.skipped),
            refused: notes(&done.refused),
        })?;
    } else {
        println!("imported {} account(s)", done.imported.len());
    }
    Ok(())
}

/// `export --json`.
#[derive(Debug, Serialize)]
struct ExportJson {
    format: &'static str,
    path: String,
    exported: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    links: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    left_out: Option<Vec<NoteJson>>,
    skipped: Vec<NoteJson>,
}

/// Writes `data` to a new file (or over one with `force`), readable by the user alone.
pub fn write_private(path: &Path, data: &[u8], force: bool) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(data)?;
    f.sync_all()?;
    Ok(())
}

/// A QR code of `text` as a PNG (8 pixels a module, a 4-module quiet zone).
pub fn qr_png(text: &str) -> anyhow::Result<Vec<u8>> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::L)
        .map_err(|e| CliError::new(format!("cannot make a QR code: {e}")))?;
    let modules = code.width();
    let (scale, quiet) = (8usize, 4usize);
    let side = (modules + 2 * quiet) * scale;
    let colors = code.to_colors();
    let mut pixels = vec![255u8; side * side];
    for y in 0..modules {
        for x in 0..modules {
            if colors[y * modules + x] == qrcode::Color::Dark {
                for dy in 0..scale {
                    let row = ((y + quiet) * scale + dy) * side;
                    let start = row + (x + quiet) * scale;
                    pixels[start..start + scale].fill(0);
                }
            }
        }
    }
    let mut out = Vec::new();
    {
        let side = u32::try_from(side)?;
        let mut enc = png::Encoder::new(&mut out, side, side);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header()?;
        w.write_image_data(&pixels)?;
    }
    Ok(out)
}

/// `authenticator export --format F --out PATH [--json] [--force]`.
pub fn export(
    ctx: &Context,
    format: ExportFormat,
    out: &Path,
    json: bool,
    force: bool,
) -> anyhow::Result<()> {
    let google = format == ExportFormat::Google;
    let target = if google {
        out.join("links.txt")
    } else {
        out.to_path_buf()
    };
    if target.exists() && !force {
        return Err(CliError::new(format!(
            "{} exists; add --force to overwrite it",
            target.display()
        ))
        .into());
    }
    // The PIN line first (it unlocks and is checked again as the fresh check), then the
    // file password.
    let state = ctx.auth.lock_state()?;
    let pin = if state.has_pin {
        let pin = require_secret("PIN: ", "PIN")?;
        ctx.auth.unlock(String::clone(&pin))?;
        pin
    } else {
        ensure_unlocked(&ctx.auth)?;
        Zeroizing::new(String::new())
    };
    let password = if format == ExportFormat::Aegis {
        Some(read_new_secret(
            "File password: ",
            "Repeat the file password: ",
            "file password",
            "the two passwords differ; nothing was written",
        )?)
    } else {
        eprintln!(
            "warning: a {} export holds every secret in the clear: anyone who reads the file can make your codes",
            export_name(format)
        );
        None
    };
    let result: ExportResult = ctx.auth.export_accounts(
        format,
        password.as_deref().map(String::from),
        String::clone(&pin),
    )?;
    let data = Zeroizing::new(result.data.clone());
    if google {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        write_private(&target, &data, force)?;
        for (i, link) in result.links.iter().enumerate() {
            let link = Zeroizing::new(link.clone());
            write_private(
                &out.join(format!("qr-{}.png", i + 1)),
                &qr_png(&link)?,
                force,
            )?;
        }
    } else {
        write_private(&target, &data, force)?;
    }
    for s in &result.skipped {
        eprintln!(
            "kept on this phone: {}: {}",
            sanitize(&s.entry),
            sanitize(&s.reason)
        );
    }
    for l in &result.left_out {
        eprintln!("left out: {}: {}", sanitize(&l.entry), sanitize(&l.reason));
    }
    if json {
        print_json(&ExportJson {
            format: export_name(format),
            path: target.display().to_string(),
            exported: result.exported,
            links: google.then(|| result.links.clone()),
            left_out: google.then(|| notes(&result.left_out)),
            skipped: notes(&result.skipped),
        })?;
    } else {
        println!(
            "exported {} account(s) to {}{}",
            result.exported,
            target.display(),
            if google {
                format!(" and {} QR code(s)", result.links.len())
            } else {
                String::new()
            }
        );
    }
    Ok(())
}
