fn main() -> std::process::ExitCode {
    khidmat::cli::main()
}
