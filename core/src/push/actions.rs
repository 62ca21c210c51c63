//! What a push notification may offer, decided once here for both shells: which answers
//! fit on the notification, which need the phone's screen lock to be opened first, and
//! which must open the app (for the app PIN) instead of answering in the background.

/// The kind of answer a notification action gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PushActionKind {
    /// Approve (with `presence_answer` for number matching).
    Approve,
    /// Decline.
    Decline,
}

/// One action button of a push notification.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NotificationAction {
    /// Approve or decline.
    pub kind: PushActionKind,
    /// Number matching: the option this button approves with (its label).
    pub presence_answer: Option<String>,
    /// The phone must be unlocked (its own screen lock) before this action runs: Android
    /// `setAuthenticationRequired(true)` (API 31+) or a `KeyguardManager.isDeviceLocked`
    /// check that opens the app instead; iOS `.authenticationRequired`. Every approval
    /// needs it: whoever holds a locked phone must not be able to approve a login.
    pub requires_unlocked_device: bool,
    /// The answer needs the app PIN first (the vault is locked): the action opens the
    /// app on this challenge instead of answering in the background.
    pub opens_app: bool,
}

/// The actions a notification for a challenge offers, in display order.
///
/// - Without number matching: Approve, Decline.
/// - With number matching: one Approve per option, then Decline, when they all fit in
///   `max_actions` (Android shows three); otherwise only Decline, and tapping the
///   notification opens the app where every option is shown. Options are never cut:
///   a missing option could be the right one, and hiding it would push the user to pick
///   a wrong one.
/// - Decline may run from the lock screen; every approval needs an unlocked phone.
/// - When the vault is locked behind the app PIN (`requires_unlock && vault_locked`),
///   every action opens the app.
pub fn actions_for(
    presence_options: &[String],
    requires_unlock: bool,
    vault_locked: bool,
    max_actions: u32,
) -> Vec<NotificationAction> {
    let opens_app = requires_unlock && vault_locked;
    let decline = NotificationAction {
        kind: PushActionKind::Decline,
        presence_answer: None,
        requires_unlocked_device: false,
        opens_app,
    };
    let approve = |presence_answer: Option<String>| NotificationAction {
        kind: PushActionKind::Approve,
        presence_answer,
        requires_unlocked_device: true,
        opens_app,
    };
    let max = usize::try_from(max_actions).unwrap_or(usize::MAX);
    let mut out: Vec<NotificationAction> = if presence_options.is_empty() {
        vec![approve(None), decline]
    } else if presence_options.len() < max {
        presence_options
            .iter()
            .map(|o| approve(Some(o.clone())))
            .chain(std::iter::once(decline))
            .collect()
    } else {
        vec![decline]
    };
    if out.len() > max {
        // Room for one action only: Decline is the one that is always safe.
        out.retain(|a| a.kind == PushActionKind::Decline);
        out.truncate(max);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{}", 10 + i)).collect()
    }

    #[test]
    fn plain_challenge_offers_approve_then_decline() {
        let a = actions_for(&[], false, false, 3);
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].kind, PushActionKind::Approve);
        assert!(
            a[0].requires_unlocked_device,
            "approve needs the phone unlocked"
        );
        assert_eq!(a[1].kind, PushActionKind::Decline);
        assert!(
            !a[1].requires_unlocked_device,
            "decline may run on the lock screen"
        );
        assert!(a.iter().all(|x| !x.opens_app));
    }

    #[test]
    fn number_matching_offers_every_option_and_decline_when_they_fit() {
        let a = actions_for(&opts(2), false, false, 3);
        let labels: Vec<_> = a.iter().map(|x| x.presence_answer.clone()).collect();
        assert_eq!(labels, vec![Some("10".into()), Some("11".into()), None]);
        assert!(a[..2]
            .iter()
            .all(|x| x.kind == PushActionKind::Approve && x.requires_unlocked_device));
        assert_eq!(a[2].kind, PushActionKind::Decline);
        // iOS-sized room: three options and Decline.
        assert_eq!(actions_for(&opts(3), false, false, 4).len(), 4);
    }

    #[test]
    fn options_that_do_not_fit_are_never_cut_only_decline_is_offered() {
        // privacyIDEA's default is three options; Android shows three actions.
        let a = actions_for(&opts(3), false, false, 3);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].kind, PushActionKind::Decline);
        let a = actions_for(&opts(9), false, false, 3);
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn a_locked_vault_makes_every_action_open_the_app() {
        let a = actions_for(&[], true, true, 3);
        assert!(a.iter().all(|x| x.opens_app));
        // Unlocked vault, or no PIN: answered in the background.
        assert!(actions_for(&[], true, false, 3)
            .iter()
            .all(|x| !x.opens_app));
        assert!(actions_for(&[], false, true, 3)
            .iter()
            .all(|x| !x.opens_app));
    }

    #[test]
    fn tiny_room_keeps_decline_only() {
        let a = actions_for(&[], false, false, 1);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].kind, PushActionKind::Decline);
        assert!(actions_for(&[], false, false, 0).is_empty());
    }
}
