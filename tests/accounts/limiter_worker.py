"""One "worker" for the Redis test: a process with its own app, as gunicorn runs them, making failed sign-ins.

    python -m tests.accounts.limiter_worker DATABASE_URI EMAIL ATTEMPTS   → prints the status codes as JSON
The rate-limit storage comes from RATELIMIT_STORAGE_URI and RATELIMIT_KEY_PREFIX in the environment.
"""
import json
import os
import sys

from chainmatch import create_app


def main(database_uri: str, email: str, attempts: int) -> list[int]:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_uri, "WTF_CSRF_ENABLED": False,
                      "MAIL_BACKEND": "memory", "RATELIMIT_KEY_PREFIX": os.environ["RATELIMIT_KEY_PREFIX"]})
    client = app.test_client()
    return [client.post("/account/sign-in", data={"email": email, "password": "not-the-password"}).status_code
            for _ in range(attempts)]


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
