//! `cf-harness`: run the Cloudflare connector plugin in its sandbox from the command line.

fn main() -> std::process::ExitCode {
    host_harness::front::cli::main()
}
