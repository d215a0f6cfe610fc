"""The messages page: own messages only, newest first, unread marked, mark as read, open the object."""
from datetime import timedelta

from sqlalchemy import select

from accounts.models import User
from core.clock import utcnow
from notifications.models import Notification
from notifications.services import Message, enqueue
from tests.conftest import sign_in
from tests.support import factories
from tests.support.database import database


def message(n: int, link: str = "/catalogue") -> Message:
    return Message(subject_zh=f"中文标题{n}", body_zh=f"中文正文{n}", subject_en=f"English subject {n}",
                   body_en=f"English body {n}", link=link)


def seed(app, email: str, count: int, locale: str = "zh", link: str = "/catalogue") -> list[int]:
    with database(app) as session:
        user = session.get(User, factories.sme(email).id)
        user.locale = locale
        for n in range(count):
            enqueue(user, "meeting_reminder_24h", "meeting", n + 1, message(n, link))
        session.flush()
        rows = session.scalars(select(Notification).where(Notification.user_id == user.id)
                               .order_by(Notification.id)).all()
        for n, row in enumerate(rows):  # distinct creation times: n hours ago, the last one newest
            row.created_at = utcnow() - timedelta(hours=count - n)
        session.commit()
        return [row.id for row in rows]


def read_at(app, notification_id: int):
    with database(app) as session:
        return session.get(Notification, notification_id).read_at


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/messages/")
    assert response.status_code == 302
    assert "/account/sign-in" in response.headers["Location"]


def test_the_user_sees_own_messages_newest_first_with_unread_marked(app, client):
    ids = seed(app, "reader@example.com", 3)
    seed(app, "someone-else@example.com", 1)
    with database(app) as session:
        session.get(Notification, ids[0]).read_at = utcnow()
        session.commit()
    sign_in(client, "reader@example.com")

    html = client.get("/messages/").get_data(as_text=True)

    assert html.index("中文标题2") < html.index("中文标题1") < html.index("中文标题0")
    assert html.count('class="tag unread"') == 2
    assert "2 条未读" in html
    assert f'id="message-{ids[2]}"' in html and f"/messages/{ids[0]}/read" not in html
    assert "someone-else" not in html and html.count('class="card message') == 3


def test_english_users_get_english_texts(app, client):
    seed(app, "english@example.com", 1, locale="en")
    sign_in(client, "english@example.com")
    html = client.get("/messages/").get_data(as_text=True)
    assert "English subject 0" in html and "中文标题0" not in html


def test_mark_one_and_then_all_as_read(app, client):
    ids = seed(app, "marker@example.com", 3)
    sign_in(client, "marker@example.com")

    response = client.post(f"/messages/{ids[1]}/read")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#message-{ids[1]}")
    first_read = read_at(app, ids[1])
    assert first_read is not None and read_at(app, ids[0]) is None
    client.post(f"/messages/{ids[1]}/read")
    assert read_at(app, ids[1]) == first_read  # the first reading time stays

    client.post("/messages/read-all")
    assert all(read_at(app, notification_id) is not None for notification_id in ids)
    assert "未读" not in client.get("/messages/").get_data(as_text=True).split("<main", 1)[1].split("</h1>")[0]


def test_opening_a_message_marks_it_read_and_goes_to_its_object(app, client):
    [notification_id] = seed(app, "opener@example.com", 1, link="/catalogue")
    sign_in(client, "opener@example.com")
    response = client.post(f"/messages/{notification_id}/open")
    assert response.status_code == 302 and response.headers["Location"] == "/catalogue"
    assert read_at(app, notification_id) is not None


def test_a_link_to_another_site_is_not_followed(app, client):
    [notification_id] = seed(app, "careful@example.com", 1, link="//evil.example/phish")
    sign_in(client, "careful@example.com")
    response = client.post(f"/messages/{notification_id}/open")
    assert response.headers["Location"] == "/messages/"


def test_someone_elses_message_is_not_found(app, client):
    [theirs] = seed(app, "owner@example.com", 1)
    seed(app, "intruder@example.com", 0)
    sign_in(client, "intruder@example.com")
    assert client.post(f"/messages/{theirs}/read").status_code == 404
    assert client.post(f"/messages/{theirs}/open").status_code == 404
    client.post("/messages/read-all")
    assert read_at(app, theirs) is None


def test_pages_of_thirty(app, client):
    seed(app, "many@example.com", 31)
    sign_in(client, "many@example.com")
    first = client.get("/messages/").get_data(as_text=True)
    second = client.get("/messages/?page=2").get_data(as_text=True)
    assert first.count('class="card message') == 30 and "较早的消息" in first
    assert second.count('class="card message') == 1 and "中文标题0" in second and "较新的消息" in second
