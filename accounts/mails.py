"""The mails of the accounts: verify an address, reset a password, a sign-up with a taken address, a changed password.

Each is queued in the outbox (one row per audit event, so every request gets its own mail) and carries
both languages, like every message the platform writes for later.
"""
from notifications.services import Message, enqueue, path_for


def _queue(user, kind: str, audit_event, message: Message) -> None:
    enqueue(user, kind, "audit_event", audit_event.id, message)


def send_verification(user, audit_event, token: str, next_path: str = "") -> None:
    link = path_for("auth.verify_email", token=token, **({"next": next_path} if next_path else {}))
    _queue(user, "account_verify_email", audit_event, Message(
        subject_zh="请验证您的邮箱 · 一月一链 · 益企畅融",
        body_zh=f"{user.display_name}，您好：\n\n请打开下面的链接验证邮箱，完成注册。链接 7 天内有效。\n"
                "如果您没有注册过本平台的账号，请忽略本邮件。",
        subject_en="Verify your e-mail address · chainmatch",
        body_en=f"Hello {user.display_name},\n\nOpen the link below to verify your address and finish signing up. "
                "It is valid for 7 days.\nIf you did not sign up, ignore this message.",
        link=link))


def send_sign_up_attempt(user, audit_event) -> None:
    """Someone signed up with an address that already has an account: its owner hears of it, the form does not."""
    _queue(user, "account_sign_up_attempt", audit_event, Message(
        subject_zh="有人用您的邮箱注册 · 一月一链 · 益企畅融",
        body_zh=f"{user.display_name}，您好：\n\n刚才有人用本邮箱在平台上注册新账号。本邮箱已有账号，因此没有新建账号。\n"
                "如果是您本人，请直接登录；忘记密码可打开下面的链接重置。\n如果不是您本人操作，请忽略本邮件，您的账号不受影响。",
        subject_en="Someone signed up with your address · chainmatch",
        body_en=f"Hello {user.display_name},\n\nSomeone just tried to sign up with this address. It already has an "
                "account, so no new account was made.\nIf it was you, sign in; if you forgot your password, "
                "reset it with the link below.\nIf it was not you, ignore this message: your account is unchanged.",
        link=path_for("auth.forgot_password")))


def send_password_reset(user, audit_event, token: str) -> None:
    _queue(user, "account_password_reset", audit_event, Message(
        subject_zh="重置密码 · 一月一链 · 益企畅融",
        body_zh=f"{user.display_name}，您好：\n\n请打开下面的链接设置新密码。链接 1 小时内有效，只能使用一次。\n"
                "如果您没有申请重置密码，请忽略本邮件，您的密码不会改变。",
        subject_en="Reset your password · chainmatch",
        body_en=f"Hello {user.display_name},\n\nOpen the link below to choose a new password. It is valid for one "
                "hour and works once.\nIf you did not ask for this, ignore this message: your password stays as it is.",
        link=path_for("auth.reset_password", token=token)))


def send_password_changed(user, audit_event) -> None:
    _queue(user, "account_password_changed", audit_event, Message(
        subject_zh="您的密码已修改 · 一月一链 · 益企畅融",
        body_zh=f"{user.display_name}，您好：\n\n您的账号密码刚刚修改，其他设备上的登录已全部退出。\n"
                "如果不是您本人操作，请立即用下面的链接重置密码，并联系主办单位。",
        subject_en="Your password was changed · chainmatch",
        body_en=f"Hello {user.display_name},\n\nThe password of your account was just changed and every other "
                "session was signed out.\nIf this was not you, reset your password now with the link below and "
                "tell the organiser.",
        link=path_for("auth.forgot_password")))
