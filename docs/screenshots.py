"""Take the README's screenshots of a running som_flow with the demo data, in Debian's Chromium.

    som-flow init && som-flow demo && som-flow serve --port 5000 &
    python docs/screenshots.py [--base-url http://127.0.0.1:5000] [--out docs/screenshots]

Each picture is a viewport (not the whole page) so the PNGs stay small (< 150 kB).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "demo-password"  # noqa: S105 - the demo's published password
DESKTOP = {"width": 1366, "height": 850}
PHONE = {"width": 390, "height": 844}
# the newest open deal of the list: its page shows a stage, a next activity and the tabs
OPEN_DEAL = "/opportunities?status=in_progress"
# (file name, viewport, who logs in (None: nobody), path (OPEN_DEAL follows the list's first deal)[, the part of the
# page to scroll to])
SHOTS = [
    ("login.png", PHONE, None, "/login"),
    ("deal.png", DESKTOP, "manager@example.com", OPEN_DEAL),
    ("tasks-phone.png", PHONE, "rep@example.com", "/tasks", "#my-tasks"),
]


def take(base_url: str, out: Path, shots=SHOTS) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    saved = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        for name, viewport, email, path, *scroll_to in shots:
            context = browser.new_context(base_url=base_url, viewport=viewport, device_scale_factor=1)
            page = context.new_page()
            if email:
                page.goto("/login")
                page.get_by_label("E-mail").fill(email)
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Log in").click()
                page.wait_for_load_state()
            page.goto(path)
            if path == OPEN_DEAL:
                page.locator("table.list tbody a[href*='/opportunities/']").first.click()
            page.wait_for_load_state("networkidle")
            if scroll_to:  # the part to show, just under the header (which stays at the top on a phone)
                page.evaluate("""selector => { document.querySelector(selector).scrollIntoView();
                    window.scrollBy(0, -document.querySelector('header.top').offsetHeight - 8); }""", scroll_to[0])
            target = out / name
            page.screenshot(path=str(target))
            saved.append(target)
            context.close()
        browser.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:5000")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "screenshots")
    parser.add_argument("--path", action="append", help="extra pages to take at both sizes (for a quick look)")
    parser.add_argument("--as", dest="email", default="manager@example.com", help="who logs in for --path pages")
    args = parser.parse_args()
    shots = SHOTS
    if args.path:
        shots = [(f"{p.strip('/').replace('/', '_') or 'home'}-{size}.png", viewport, args.email, p)
                 for p in args.path for size, viewport in (("desktop", DESKTOP), ("phone", PHONE))]
    for target in take(args.base_url, args.out, shots):
        print(f"{target} {target.stat().st_size // 1024} kB")


if __name__ == "__main__":
    main()
