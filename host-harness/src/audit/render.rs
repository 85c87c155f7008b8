//! The audit report as text for a terminal.

use crate::audit::AuditReport;
use std::fmt::Write as _;

fn duration(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

pub(super) fn bytes(n: u64) -> String {
    if n >= 1024 * 1024 && n.is_multiple_of(1024 * 1024) {
        format!("{} MiB ({n} bytes)", n / (1024 * 1024))
    } else {
        format!("{n} bytes")
    }
}

/// Text wrapped at `width` columns, continuation lines indented by `indent` spaces (the first
/// line is taken to start there too). Words are never split, hyphenated names included.
fn wrap_text(text: &str, indent: usize, width: usize) -> String {
    let pad = " ".repeat(indent);
    let options = textwrap::Options::new(width)
        .initial_indent(&pad)
        .subsequent_indent(&pad)
        .break_words(false)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    textwrap::fill(&words, options)
        .strip_prefix(&pad)
        .map(str::to_string)
        .unwrap_or_default()
}

/// A comma-separated list wrapped at `width` columns of its own, each line after the first
/// indented by `indent`.
fn wrap(words: &[String], indent: &str, width: usize) -> String {
    let options = textwrap::Options::new(width)
        .subsequent_indent(indent)
        .break_words(false)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    let options = options.width(width + indent.len());
    textwrap::fill(&words.join(", "), options)
}

/// The readable form.
pub fn render(report: &AuditReport) -> String {
    let mut s = String::new();
    let c = &report.component;
    let _ = writeln!(
        s,
        "Component {}",
        c.path.as_deref().unwrap_or("(from memory)")
    );
    let _ = writeln!(s, "  size    {} bytes", c.size_bytes);
    let _ = writeln!(s, "  sha256  {}", c.sha256);
    render_metadata(&mut s, &c.metadata);
    if report.loads {
        let _ = writeln!(
            s,
            "  verdict loads: every import is granted or stubbed, the exports match the world"
        );
    } else if !report.refused_imports.is_empty() {
        let names: Vec<&str> = report
            .refused_imports
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        let text = format!("REFUSED: imports {}", names.join(", "));
        let _ = writeln!(s, "  verdict {}", wrap_text(&text, 10, 96));
    } else {
        let _ = writeln!(
            s,
            "  verdict REFUSED: {}",
            report.load_error.as_deref().unwrap_or("cannot be loaded")
        );
    }

    let _ = writeln!(
        s,
        "\nImports ({}): what the component asks of the host",
        report.imports.len()
    );
    for import in &report.imports {
        let _ = writeln!(s, "  {:<7} {}", import.access, import.item.name);
        let _ = writeln!(s, "          {}", wrap_text(&import.reason, 10, 96));
        let mut members: Vec<String> = import
            .item
            .resources
            .iter()
            .map(|r| format!("resource {r}"))
            .collect();
        members.extend(import.item.functions.iter().map(|f| f.name.clone()));
        if !members.is_empty() {
            let _ = writeln!(
                s,
                "          uses: {}",
                wrap(&members, "                ", 80)
            );
        }
    }

    let _ = writeln!(
        s,
        "\nExports ({}): what the host may call",
        report.exports.len()
    );
    for export in &report.exports {
        let _ = writeln!(s, "  {}", export.name);
        for r in &export.resources {
            let _ = writeln!(s, "    resource {r}");
        }
        for f in &export.functions {
            let _ = writeln!(s, "    {}: {}", f.name, f.signature);
        }
    }

    let o = &report.outbound;
    let _ = writeln!(s, "\nOutbound requests (only through {})", o.through);
    let _ = writeln!(
        s,
        "  schemes {}; ports {}; credentials in the URL {}",
        o.schemes.join(", "),
        o.ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        if o.credentials_in_url {
            "allowed"
        } else {
            "refused"
        }
    );
    for h in &o.hosts {
        let _ = writeln!(s, "  {}", h.host);
        for rule in &h.rules {
            let paths = match (rule.paths == ["*"], rule.except.is_empty()) {
                (true, true) => "any path".to_string(),
                (true, false) => format!("any path except {}", rule.except.join(", ")),
                (false, _) => format!("{} only", rule.paths.join(", ")),
            };
            let _ = writeln!(s, "    {:<10} {paths}", rule.methods.join(", "));
            for condition in &rule.conditions {
                let _ = writeln!(s, "    {:<10} {}", "", wrap_text(condition, 15, 96));
            }
        }
        let token = if h.token_injected {
            "injected by the host"
        } else {
            "never sent"
        };
        let _ = writeln!(s, "    {:<10} {token}", "token");
        if let Some(up) = &h.upstream {
            let _ = writeln!(s, "    {:<10} redirected to {up}", "upstream");
        }
    }
    let _ = writeln!(s, "  token: sent only to {}", o.token_sent_to.join(", "));
    let _ = writeln!(
        s,
        "  guest's Authorization header: {}",
        o.guest_authorization
    );
    let _ = writeln!(
        s,
        "  the token in an answer: {}",
        wrap_text(o.token_in_answers, 26, 96)
    );
    if o.upstreams.is_empty() {
        let _ = writeln!(
            s,
            "  --upstream: none (requests go to the hosts themselves)"
        );
    }
    for u in &o.upstreams {
        let _ = writeln!(
            s,
            "  --upstream: {} -> {}{}",
            u.host,
            u.url,
            if u.token_sent {
                " (the token goes there)"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(s, "  denied before leaving the host:");
    for d in &o.denied {
        let _ = writeln!(s, "    - {}", wrap_text(d, 6, 96));
    }

    let env = if report.guest_environment.is_empty() {
        "none".to_string()
    } else {
        report.guest_environment.join(", ")
    };
    let _ = writeln!(
        s,
        "\nGuest environment: {env} (when given; never the token)"
    );

    let l = &report.limits;
    let _ = writeln!(
        s,
        "\nLimits (per call: memory, CPU time and the wall clock stop the call and poison its \
         instance; the network limits fail the request the guest made; a larger tool result \
         is refused)"
    );
    let _ = writeln!(
        s,
        "  memory          {} of linear memory, at most {} memories",
        bytes(l.memory_bytes),
        l.max_memories
    );
    let _ = writeln!(
        s,
        "  tables          at most {} of {} elements; at most {} instances",
        l.max_tables, l.max_table_elements, l.max_instances
    );
    let _ = writeln!(
        s,
        "  CPU time        {} of guest code ({} ms ticks)",
        duration(l.cpu_time_ms),
        l.cpu_tick_ms
    );
    let _ = writeln!(s, "  wall clock      {}", duration(l.wall_clock_ms));
    let _ = writeln!(s, "  connect         {}", duration(l.connect_timeout_ms));
    let _ = writeln!(s, "  first byte      {}", duration(l.first_byte_timeout_ms));
    let _ = writeln!(
        s,
        "  between bytes   {}",
        duration(l.between_bytes_timeout_ms)
    );
    let _ = writeln!(s, "  response body   {}", bytes(l.max_response_bytes));
    let _ = writeln!(s, "  requests        {} per call", l.max_requests_per_call);
    let _ = writeln!(s, "  tool result     {}", bytes(l.max_result_bytes));
    s
}

/// The component's account of its build, under its digest.
fn render_metadata(s: &mut String, m: &crate::audit::ComponentMetadata) {
    let package = m
        .package
        .as_deref()
        .unwrap_or("(its exports name no single package)");
    let _ = writeln!(s, "  package {package}");
    let world = match (&m.world, m.world_matches_exports) {
        (Some(world), true) => world.clone(),
        (Some(world), false) => format!("{world} (declared; its exports are not of this package)"),
        (None, _) => "(not declared: a built component keeps no world name)".to_string(),
    };
    let _ = writeln!(s, "  world   {world}");
    if m.producers.is_empty() {
        let _ = writeln!(
            s,
            "  built   (no producers section: stripped or not recorded)"
        );
    }
    for field in &m.producers {
        let values: Vec<String> = field
            .values
            .iter()
            .map(|p| match p.version.as_str() {
                "" => p.name.clone(),
                v => format!("{} {v}", p.name),
            })
            .collect();
        let label = format!("  {}", field.field);
        let indent = " ".repeat(label.len().max(16) + 1);
        let _ = writeln!(
            s,
            "{label:<16} {}",
            wrap(&values, &indent, 96 - indent.len())
        );
    }
    if let Some(problem) = &m.unreadable {
        let _ = writeln!(s, "  (a section could not be read: {problem})");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_wraps_at_the_width_without_splitting_names() {
        let text = "every request is decided by wasi:http/outgoing-handler and the outbound-policy";
        let wrapped = wrap_text(text, 10, 40);
        let lines: Vec<&str> = wrapped.lines().collect();
        assert!(lines.len() > 1, "{wrapped}");
        assert!(lines[0].len() <= 30, "{wrapped}");
        for line in &lines[1..] {
            assert!(
                line.starts_with("          ") && line.len() <= 40,
                "{wrapped}"
            );
        }
        assert!(wrapped.contains("wasi:http/outgoing-handler"), "{wrapped}");
        assert!(wrapped.contains("outbound-policy"), "{wrapped}");
        assert_eq!(wrap_text("a  b\nc", 2, 80), "a b c");
    }

    #[test]
    fn lists_wrap_after_their_commas() {
        let words: Vec<String> = [
            "get-environment",
            "read-via-stream",
            "write-via-stream",
            "x",
        ]
        .map(String::from)
        .into();
        let wrapped = wrap(&words, "    ", 36);
        assert_eq!(
            wrapped,
            "get-environment, read-via-stream,\n    write-via-stream, x"
        );
        assert_eq!(wrap(&words[..1], "    ", 36), "get-environment");
    }
}
