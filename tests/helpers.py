"""Small helpers for tests that talk to the API as real users do (bearer tokens over HTTP)."""

from __future__ import annotations

from som_flow.services import customers, users


def make_user(email: str, *roles: str, timezone: str = "UTC", password: str | None = "secret-password"):
    return users.create_user(email, email.split("@")[0].title(), list(roles), password=password,
                             timezone=timezone)


PASSWORD = "secret-password"  # every test user's (make_user)


def login(client, who, password: str = PASSWORD):
    """Log `who` (a User or an e-mail) in through the login form as a browser does; returns the client.

    The one way tests log in to pages: a session is a row the form creates, so a hand-written cookie is refused."""
    email = who if isinstance(who, str) else who.email
    r = client.post("/login", data={"email": email, "password": password})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    return client


def token_headers(email: str) -> dict:
    return {"Authorization": f"Bearer {users.create_token(email)}"}


def make_customer(name: str = "Acme Inc.", **extra):
    return customers.create_customer(None, {"kind": "organization", "name": name, **extra})


class Api:
    """A client bound to one user's token."""

    def __init__(self, client, email: str):
        self.client = client
        self.headers = token_headers(email)

    def get(self, path, **kw):
        return self.client.get(f"/api/v1{path}", headers=self.headers, **kw)

    def history(self, opp_id) -> list[dict]:
        """The deal's whole history (API.md: a page at a time, oldest first), as a list of events."""
        events, page = [], 1
        while True:
            r = self.get(f"/opportunities/{opp_id}/history?per_page=200&page={page}")
            assert r.status_code == 200, r.json
            events += r.json["items"]
            if len(events) >= r.json["total"] or not r.json["items"]:
                return events
            page += 1

    def post(self, path, json=None, headers=None, **kw):
        return self.client.post(f"/api/v1{path}", json=json if json is not None else {},
                                headers={**self.headers, **(headers or {})}, **kw)

    def patch(self, path, json=None, headers=None, **kw):
        return self.client.patch(f"/api/v1{path}", json=json, headers={**self.headers, **(headers or {})}, **kw)

    def put(self, path, data, **kw):
        return self.client.put(f"/api/v1{path}", data=data, headers={**self.headers, "Content-Type": "application/xml"},
                               **kw)

    def delete(self, path, **kw):
        return self.client.delete(f"/api/v1{path}", headers=self.headers, **kw)

    def finish_required_tasks(self, opp_id: int) -> None:
        """Do the stage's required tasks, one after another, as the office and the rep would."""
        for _ in range(10):
            tasks = self.get(f"/tasks?opportunity={opp_id}&per_page=200").json["items"]
            todo = [t for t in tasks if t["required"] and not t["gate"]]
            if not todo:
                return
            r = self.post(f"/tasks/{todo[0]['id']}/complete", {"data": {f: "yes" for f in todo[0]["form"]}})
            assert r.status_code == 200, r.json
