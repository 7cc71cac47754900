use std::process::ExitCode;

fn main() -> ExitCode {
    secret_rollout::cli::main()
}
