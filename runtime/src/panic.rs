//! Captures panic messages so that a span unwinding through a panic can carry it.
//!
//! Two sources, so that the message survives whatever panic hook the application
//! installs, before or after `init`: a hook installed once, before the first
//! recording span, that chains to the hook that was there before (what the
//! program prints on a panic is unchanged) and knows the location; and the
//! payload itself, which the instrumented body catches and resumes
//! ([`note_payload`]).

use std::cell::RefCell;
use std::panic::PanicHookInfo;
use std::sync::Once;

thread_local! {
    static LAST: RefCell<Option<Panic>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Installs the chaining panic hook (once per process).
#[inline]
pub(crate) fn install_hook() {
    if HOOK.is_completed() {
        return;
    }
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = message(info);
            let _ = LAST.try_with(|last| {
                if let Ok(mut last) = last.try_borrow_mut() {
                    *last = Some(message);
                }
            });
            previous(info);
        }));
    });
}

/// What a panic said, and where.
#[derive(Clone, Debug)]
pub(crate) struct Panic {
    pub(crate) message: String,
    pub(crate) location: Option<String>,
}

fn message(info: &PanicHookInfo<'_>) -> Panic {
    let text = payload_text(info.payload());
    Panic {
        message: text,
        location: info
            .location()
            .map(|at| format!("panicked at {}:{}:{}", at.file(), at.line(), at.column())),
    }
}

/// The panic text of a payload (`&str` or `String`, as `panic!` makes them).
fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

/// Records the panic this thread is unwinding from, from its payload: the
/// message is the payload's; the location is the hook's when the hook saw this
/// very panic (a replaced hook did not, and an older message is not this one).
#[cold]
pub(crate) fn note_payload(payload: &(dyn std::any::Any + Send)) {
    let message = payload_text(payload);
    let _ = LAST.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            let location = last
                .as_ref()
                .filter(|seen| seen.message == message)
                .and_then(|seen| seen.location.clone());
            *last = Some(Panic { message, location });
        }
    });
}

/// The message of the panic this thread is unwinding from, if the hook saw it.
pub(crate) fn last() -> Option<Panic> {
    LAST.try_with(|last| last.try_borrow().ok().and_then(|m| m.clone()))
        .ok()
        .flatten()
}
