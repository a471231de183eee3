//! What a browser downloads for the resident payment pages: the bill page
//! and the review page, each with every stylesheet, icon and image it
//! references (as a first visit, nothing cached), and how many scripts.

use anyhow::{Result, anyhow, bail};

pub async fn run(base: &str, account: &str, zip: &str) -> Result<()> {
    let base = base.trim_end_matches('/');
    let client = reqwest::Client::builder()
        .http1_only()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut cookies = String::new();
    let mut fetch =
        async |method: &str, path: &str, form: &[(&str, &str)]| -> Result<(u16, Vec<u8>, usize)> {
            let url = format!("{base}{path}");
            let mut req = match method {
                "POST" => client.post(&url).form(form),
                _ => client.get(&url),
            };
            req = req.header("accept-encoding", "gzip, br");
            if !cookies.is_empty() {
                req = req.header("cookie", cookies.clone());
            }
            let resp = req.send().await?;
            for v in resp.headers().get_all("set-cookie") {
                if let Some(pair) = v.to_str().ok().and_then(|s| s.split(';').next()) {
                    let name = pair.split('=').next().unwrap_or_default().to_owned();
                    let mut kept: Vec<String> = cookies
                        .split("; ")
                        .filter(|c| !c.is_empty() && !c.starts_with(&format!("{name}=")))
                        .map(str::to_owned)
                        .collect();
                    kept.push(pair.to_owned());
                    cookies = kept.join("; ");
                }
            }
            let status = resp.status().as_u16();
            // Bytes on the wire: the status line and headers as sent, then the
            // body as sent (compressed if the server compressed it).
            let head: usize = 17
                + resp
                    .headers()
                    .iter()
                    .map(|(k, v)| k.as_str().len() + v.as_bytes().len() + 4)
                    .sum::<usize>()
                + 2;
            let body = resp.bytes().await?.to_vec();
            let wire = head + body.len();
            Ok((status, body, wire))
        };
    let (s, page, _) = fetch("GET", "/pay/utilities", &[]).await?;
    if s != 200 {
        bail!("look-up page: status {s}");
    }
    let page = String::from_utf8_lossy(&page).into_owned();
    let csrf = input(&page, "csrf").ok_or_else(|| anyhow!("no CSRF token"))?;
    let (s, _, _) = fetch(
        "POST",
        "/pay/utilities",
        &[("csrf", &csrf), ("account_number", account), ("zip", zip)],
    )
    .await?;
    if s != 303 {
        bail!("look-up: status {s}");
    }
    let mut results = Vec::new();
    let (s, bills, bills_wire) = fetch("GET", "/pay/utilities/bills", &[]).await?;
    if s != 200 {
        bail!("bill page: status {s}");
    }
    let bills = String::from_utf8_lossy(&bills).into_owned();
    results.push(("bill page", bills.clone(), bills_wire));
    let bill = input(&bills, "bill").ok_or_else(|| anyhow!("no bill on the bill page"))?;
    let csrf = input(&bills, "csrf").ok_or_else(|| anyhow!("no CSRF token"))?;
    let (s, _, _) = fetch(
        "POST",
        "/pay/utilities/bills",
        &[
            ("csrf", &csrf),
            ("bill", &bill),
            ("choice", "full"),
            ("amount", ""),
        ],
    )
    .await?;
    if s != 303 {
        bail!("choosing the bill: status {s}");
    }
    let (s, review, review_wire) = fetch("GET", "/pay/review", &[]).await?;
    if s != 200 {
        bail!("review page: status {s}");
    }
    results.push((
        "review page",
        String::from_utf8_lossy(&review).into_owned(),
        review_wire,
    ));
    let mut worst = 0;
    let mut scripts_total = 0;
    for (name, html, html_wire) in results {
        let mut total = html_wire;
        let mut parts = vec![format!("html {html_wire} B")];
        for asset in references(&html) {
            let (s, _, wire) = fetch("GET", &asset, &[]).await?;
            if s != 200 {
                bail!("{asset}: status {s}");
            }
            total += wire;
            parts.push(format!("{asset} {wire} B"));
        }
        let scripts = html.matches("<script").count();
        scripts_total += scripts;
        worst = worst.max(total);
        println!(
            "{}",
            serde_json::json!({
                "scenario": "page_weight",
                "page": name,
                "bytes": total,
                "scripts": scripts,
                "parts": parts.join(", "),
            })
        );
    }
    println!(
        "{}",
        serde_json::json!({"scenario": "page_weight_max", "bytes": worst, "scripts": scripts_total})
    );
    Ok(())
}

fn input(page: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let start = page.find(&needle)? + needle.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_owned())
}

/// Same-site stylesheets, icons and images the page references.
fn references(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let Some(end) = rest.find('"') else { break };
            let url = &rest[..end];
            let tag_start = html.len() - rest.len();
            let before = &html[..tag_start];
            let tag = &before[before.rfind('<').unwrap_or(0)..];
            let asset = tag.starts_with("<link") || tag.starts_with("<img");
            if asset && url.starts_with('/') && !out.iter().any(|u| u == url) {
                out.push(url.to_owned());
            }
        }
    }
    out
}
