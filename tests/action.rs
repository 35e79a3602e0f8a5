//! The GitHub Action (`action.yml`) and the workflow that runs it against the testbed
//! (`.github/workflows/authprobe.yml`): both parse as YAML; the action is a composite action
//! whose every input is used and whose steps install authprobe, run `check` with SARIF and
//! JUnit reports, upload them, write the step summary and pass the exit code through; the
//! workflow uses the local action on the testbed's shipped profile after starting the
//! testbed. (That every `authprobe …` command line in them parses with the real command-line
//! definitions is the binary's own test, `cli::tests::the_action_and_its_workflow_call_existing_flags`.)

use std::path::Path;

use serde_json::Value;

fn root(rel: &str) -> String {
    format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"))
}

fn yaml(rel: &str) -> (String, Value) {
    let path = root(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let doc = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    (text, doc)
}

/// The action's steps.
fn steps(action: &Value) -> &[Value] {
    action["runs"]["steps"].as_array().expect("runs.steps")
}

/// Every text a step hands to the runner: `run`, `if`, `env` values and `with` values.
fn step_texts(step: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for k in ["run", "if"] {
        if let Some(s) = step[k].as_str() {
            out.push(s.to_owned());
        }
    }
    for k in ["env", "with"] {
        if let Some(m) = step[k].as_object() {
            out.extend(m.values().filter_map(Value::as_str).map(str::to_owned));
        }
    }
    out
}

#[test]
fn the_action_is_a_composite_action_that_uses_every_input() {
    let (_, action) = yaml("action.yml");
    assert_eq!(action["runs"]["using"], "composite");
    assert!(action["name"].is_string() && action["description"].is_string());
    let inputs = action["inputs"].as_object().expect("inputs");
    for name in ["profile", "specs", "args", "version"] {
        assert!(inputs.contains_key(name), "input {name}");
    }
    assert_eq!(inputs["profile"]["required"], true);
    let texts: Vec<String> = steps(&action).iter().flat_map(step_texts).collect();
    let all = texts.join("\n");
    for (name, input) in inputs {
        assert!(
            input["description"].is_string(),
            "input {name} is described"
        );
        assert!(
            all.contains(&format!("inputs.{name}")),
            "input {name} is never used"
        );
    }
    // Every `inputs.X` a step reads is declared.
    let re = regex::Regex::new(r"inputs\.([A-Za-z0-9_-]+)").expect("regex");
    for c in re.captures_iter(&all) {
        assert!(inputs.contains_key(&c[1]), "undeclared input {}", &c[1]);
    }
    // Every declared output comes from a step that exists.
    let ids: Vec<&str> = steps(&action)
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    for (name, o) in action["outputs"].as_object().expect("outputs") {
        let v = o["value"].as_str().expect("output value");
        assert!(
            ids.iter()
                .any(|id| v.contains(&format!("steps.{id}.outputs."))),
            "output {name}: {v}"
        );
    }
}

#[test]
fn the_action_installs_checks_uploads_summarises_and_passes_the_exit_code() {
    let (_, action) = yaml("action.yml");
    let steps = steps(&action);
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    let uses: Vec<&str> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
    for s in steps {
        assert!(s["name"].is_string(), "every step is named: {s}");
        if s["run"].is_string() {
            assert_eq!(
                s["shell"], "bash",
                "a composite run step names its shell: {s}"
            );
        }
    }
    assert!(runs.iter().any(|r| r.contains("cargo install --locked")));
    let check = steps
        .iter()
        .find(|s| s["id"] == "check")
        .expect("the check step");
    let run = check["run"].as_str().expect("run");
    let line = run
        .lines()
        .find(|l| l.trim_start().starts_with("authprobe check "))
        .expect("authprobe check");
    for flag in ["--profile", "sarif=", "junit=", "markdown="] {
        assert!(line.contains(flag), "{flag} in {line}");
    }
    // The exit code is kept, not lost to `set -e`, and reported.
    assert!(line.trim_end().ends_with("|| code=$?"), "{line}");
    assert!(
        !run.contains("set -e"),
        "the check step must not stop on authprobe's exit"
    );
    assert!(run.contains(">> \"$GITHUB_STEP_SUMMARY\""), "step summary");
    assert!(run.contains("exit-code=$code"), "exit code as an output");
    assert!(
        uses.iter()
            .any(|u| u.starts_with("github/codeql-action/upload-sarif@"))
    );
    assert!(
        uses.iter()
            .any(|u| u.starts_with("actions/upload-artifact@"))
    );
    // Uploads and the exit code run after a failing check too; the exit code is last.
    let last = steps.last().expect("steps");
    assert_eq!(last["if"], "always()");
    assert!(
        last["run"]
            .as_str()
            .is_some_and(|r| r.contains("exit \"${CODE")),
        "{last}"
    );
    for s in steps
        .iter()
        .filter(|s| s["uses"].as_str().is_some_and(|u| u.contains("upload")))
    {
        assert!(
            s["if"].as_str().is_some_and(|c| c.starts_with("always()")),
            "{s}"
        );
    }
}

#[test]
fn the_workflow_runs_the_local_action_against_a_started_testbed() {
    let (_, wf) = yaml(".github/workflows/authprobe.yml");
    assert!(wf["on"].is_object(), "triggers");
    assert_eq!(wf["permissions"]["security-events"], "write");
    let jobs = wf["jobs"].as_object().expect("jobs");
    let job = jobs.values().next().expect("a job");
    let steps = job["steps"].as_array().expect("steps");
    let start = steps
        .iter()
        .position(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains(" testbed --listen 127.0.0.1:8080") && r.contains('&'))
        })
        .expect("a step starts the testbed in the background");
    assert!(
        steps[start]["run"]
            .as_str()
            .is_some_and(|r| r.contains("curl") && r.contains("seq")),
        "and waits for it, bounded"
    );
    let action = steps
        .iter()
        .position(|s| s["uses"] == "./")
        .expect("the workflow uses the local action");
    assert!(start < action, "the testbed starts before the action runs");
    let with = &steps[action]["with"];
    let profile = with["profile"].as_str().expect("profile");
    assert!(Path::new(&root(profile)).is_file(), "{profile} exists");
    // The profile points at the address the testbed listens on.
    let text = std::fs::read_to_string(root(profile)).expect("profile");
    assert!(text.contains("base_url: http://127.0.0.1:8080"));
    assert!(Path::new(&root("action.yml")).is_file());
}
