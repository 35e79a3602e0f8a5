//! The `authprobe` binary: parse arguments, run the command, exit with its code
//! (0 conformant, 1 a rule failed, 2 bad input, 3 the target could not be tested or the run
//! was interrupted). The commands live in [`cli`]; this file only maps their result to the
//! exit code.

mod cli;

use clap::Parser;

use cli::{Cli, CliError};

fn main() {
    let args = Cli::parse();
    let result = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => {
            let result = rt.block_on(cli::run(args));
            // An interrupted run leaves rules in flight on blocking threads: do not wait for
            // them (the process exits now; every file was written atomically).
            rt.shutdown_background();
            result
        }
        Err(e) => Err(CliError::Runtime(e)),
    };
    let code = match result {
        Ok(exit) => exit.code(),
        Err(e) => {
            eprintln!("{e}");
            e.code()
        }
    };
    std::process::exit(code);
}
