//! The `authprobe` binary: parse arguments, run the command, exit with its code
//! (0 conformant, 1 a rule failed, 2 bad input, 3 the target could not be tested).
use clap::Parser;

fn main() {
    let cli = authprobe::app::Cli::parse();
    let code = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(authprobe::app::run(cli)),
        Err(e) => {
            eprintln!("authprobe: error: cannot start the async runtime: {e}");
            2
        }
    };
    std::process::exit(code);
}
