//! Kind `check: {session_id: ...}`: what one session id reveals to anyone holding it
//! (`opaque`: the decoders' layers and the structure with its values redacted), and whether
//! ids from fresh logins are unique and unpredictable (`entropy`).

use crate::analysis::decode::MAX_LAYERS;
use crate::analysis::session_id::{
    Readable, TRIED, Why, analyse_sample, problems_with_min_bits, readable_content,
};
use crate::profile::FlowName;
use crate::units::SpecUser;

use super::browser::{Browser, Recorded, StepError};
use super::outcome::{Evidence, Outcome, Verdict};
use super::probe::{Recheck, confirm};
use super::rule::{RuleCtx, step_verdict};

/// Masks long token-like runs (16+ base64/hex characters) in text derived from a credential,
/// so a report shows the shape of what is readable without handing out the secret part.
pub(crate) fn mask_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= 16 {
            let head: String = run.chars().take(4).collect();
            out.push_str(&format!(
                "{head}…[{} chars masked]",
                run.chars().count() - 4
            ));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '/' | '=') {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// `session_id: opaque`: the id decodes to nothing readable. A readable id is confirmed on a
/// fresh login (its id must be readable too).
pub(crate) async fn opaque(rc: &RuleCtx) -> Verdict {
    let Some(sb) = rc.baseline.session.as_ref() else {
        return Verdict::not_applicable("the profile defines no cookie session (`flows`)");
    };
    let names = user_names(rc);
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let Some(found) = readable_content(&sb.session_id, &refs) else {
        return Verdict::pass(format!(
            "the session id decodes to nothing readable (tried {TRIED}, up to {MAX_LAYERS} nested layers)"
        ));
    };
    let verdict = Verdict::new(Outcome::fail_observed(
        "an opaque random value",
        readable_words(rc, &found),
    ))
    .details(found.redacted_json())
    .evidence(vec![Evidence::new(
        "login (preflight): the response that set the session cookie",
        &sb.exchange,
        rc.ctx.client.redactor(),
    )]);
    let what = "logged in again and decoded the new session id";
    confirm(rc, verdict, what, async |t| {
        let mut b = Browser::new("confirmation");
        if let Err(e) = b.login(&rc.ctx, SpecUser::Alice.name(), t).await {
            return Recheck::from_step_error(&e);
        }
        let Some(id) = b.session_id(&rc.ctx) else {
            return Recheck::Unclear("the login set no session cookie".into());
        };
        match readable_content(id, &refs) {
            Some(again) => Recheck::Failed(readable_words(rc, &again)),
            None => Recheck::Passed("the new session id decodes to nothing readable".into()),
        }
    })
    .await
}

fn user_names(rc: &RuleCtx) -> Vec<String> {
    rc.ctx
        .target
        .users
        .values()
        .map(|u| u.username.clone())
        .collect()
}

/// A readable id in words: the layers and the structure with its values redacted (keys
/// and names from the target still go through the redactor).
fn readable_words(rc: &RuleCtx, found: &Readable) -> String {
    let kind = match found.why {
        Why::Text => "readable text",
        Why::SessionState | Why::NamesUser => "readable session data",
    };
    let mut words = format!(
        "the session id is {kind} ({}): {}",
        found.chain(),
        found.sketch()
    );
    if let Some(u) = &found.contains_username {
        words.push_str(&format!(" (it contains the user name `{u}`)"));
    }
    rc.ctx.client.redactor().redact(&words)
}

/// Shows at most 4 characters of a prefix that all sampled ids share.
fn mask_prefix(text: &str, prefix: &str) -> String {
    if prefix.chars().count() <= 4 {
        return text.to_string();
    }
    let head: String = prefix.chars().take(4).collect();
    text.replace(prefix, &format!("{head}…"))
}

/// Session ids from `n` fresh logins (concurrent, bounded), in login order, with a short
/// transcript of the first logins.
async fn sample_ids(
    rc: &RuleCtx,
    n: usize,
) -> Result<(Vec<String>, Vec<Recorded>), (StepError, Vec<Recorded>)> {
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(rc.case_concurrency));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let ctx = rc.ctx.clone();
        let sem = sem.clone();
        set.spawn(async move {
            let _p = sem.acquire_owned().await;
            let mut b = Browser::new(format!("sample {}", i + 1));
            let mut t = Vec::new();
            let res = b.login(&ctx, SpecUser::Alice.name(), &mut t).await;
            let id = res.map(|()| b.session_id(&ctx).unwrap_or_default().to_string());
            (i, id, t)
        });
    }
    let mut ids: Vec<(usize, String)> = Vec::with_capacity(n);
    let mut transcript: Vec<Recorded> = Vec::new();
    let mut first_err = None;
    while let Some(j) = set.join_next().await {
        let Ok((i, res, t)) = j else { continue };
        match res {
            Ok(id) => {
                ids.push((i, id));
                if transcript.len() < 6 {
                    transcript.extend(t);
                }
            }
            Err(e) => {
                first_err.get_or_insert((e, t));
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    ids.sort();
    Ok((ids.into_iter().map(|(_, id)| id).collect(), transcript))
}

/// Fresh logins whose ids confirm a failure found on a sample that drew on the run's ids.
const CONFIRM_SAMPLES: usize = 8;

/// `session_id: entropy`: ids from fresh logins are unique, unpatterned and long enough.
/// The sample starts with the ids the run's own logins received (each issued by a login in
/// a `Set-Cookie`; the rule runs after the others, see the engine's `schedule`) and logs in
/// only for what is missing. A sample that drew on the run and fails is confirmed on
/// [`CONFIRM_SAMPLES`] ids of fresh logins alone, which must show a problem too.
pub(crate) async fn entropy(rc: &RuleCtx) -> Verdict {
    let n = rc.policy.session_id_samples as usize;
    let from_run = if rc.ctx.share {
        rc.ctx.pool.ids(n)
    } else {
        Vec::new()
    };
    let missing = n - from_run.len();
    let (fresh, transcript) = match sample_ids(rc, missing).await {
        Ok(x) => x,
        Err((e, t)) => return step_verdict(rc, e, &t),
    };
    let ids: Vec<String> = from_run.iter().cloned().chain(fresh).collect();
    let a = analyse_sample(&ids);
    let min_bits = rc.policy.session_id_min_entropy_bits;
    let problems: Vec<String> = problems_with_min_bits(&a, min_bits)
        .into_iter()
        .map(|p| mask_prefix(&p, &a.common_prefix_text))
        .collect();
    let source = match from_run.len() {
        0 => format!("{n} fresh logins"),
        k => format!(
            "{n} fresh logins ({k} ids the run's other logins received, {missing} logged in for this rule)"
        ),
    };
    let summary = format!(
        "{} ids from {source}: {} unique, length {}..={}, {} alphabet, about {:.0} bits of entropy, common prefix {} chars",
        a.samples, a.unique, a.min_len, a.max_len, a.alphabet, a.estimated_bits, a.common_prefix
    );
    let verdict = if problems.is_empty() {
        Verdict::pass(summary)
    } else {
        Verdict::new(Outcome::fail(
            problems.join("; "),
            format!("unique, unpatterned ids with at least {min_bits} bits of entropy"),
            format!("{}; {summary}", problems.join("; ")),
        ))
        .evidence(rc.evidence(&transcript))
    };
    let per_login = rc.ctx.target.flow(FlowName::Login).map_or(0, <[_]>::len) as u64;
    let verdict = verdict.requests(missing as u64 * per_login);
    if from_run.is_empty() {
        return verdict;
    }
    let what = format!(
        "sampled {CONFIRM_SAMPLES} fresh logins alone (no id from the run) and judged their ids"
    );
    confirm(rc, verdict, &what, async |t| {
        let (ids, transcript) = match sample_ids(rc, CONFIRM_SAMPLES).await {
            Ok(x) => x,
            Err((e, t2)) => {
                t.extend(t2);
                return Recheck::from_step_error(&e);
            }
        };
        t.extend(transcript);
        let again = analyse_sample(&ids);
        let problems = problems_with_min_bits(&again, min_bits);
        match problems.is_empty() {
            true => Recheck::Passed(format!(
                "{CONFIRM_SAMPLES} ids from fresh logins showed no problem"
            )),
            false => Recheck::Failed(
                problems
                    .iter()
                    .map(|p| mask_prefix(p, &again.common_prefix_text))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_tokens_are_masked_and_words_kept() {
        let t = mask_tokens(r#"{"nonce":"f668ae0cd729a595fb2e5aad","user":"alice"}"#);
        assert_eq!(t, r#"{"nonce":"f668…[20 chars masked]","user":"alice"}"#);
        assert_eq!(
            mask_prefix("start \"0000000000ab\" x", "0000000000ab"),
            "start \"0000…\" x"
        );
    }
}
