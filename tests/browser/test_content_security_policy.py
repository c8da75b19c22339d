"""Issue 17 in a real browser: every page is served with a
Content-Security-Policy that allows scripts from this origin only (no
inline script), and the pages still work under it: the login page (whose
one script used to be inline), the live dashboard, the admin and the API
docs (Redoc from the sidecar). Chromium reports each thing the policy
blocks as a console error, which the module's console log collects."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


def policy_of(response):
    policy = response.headers["content-security-policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


def test_the_login_page_and_the_dashboard_work_under_the_policy(open_dashboard, desk, console):
    dashboard = open_dashboard()
    page = dashboard.page
    response = page.goto(dashboard.base_url + "/accounts/login/?next=/#7")

    policy = policy_of(response)
    assert policy["script-src"] == ["'self'"]
    assert not any("'unsafe-inline'" in values for values in policy.values())
    # The moved script ran: it handed the URL hash on in `next`.
    expect(page.locator('input[name="next"]')).to_have_value("/#7")
    page.get_by_label("Username").fill(desk.username)
    page.get_by_label("Password").fill(desk.password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/#\d+$"))
    dashboard.expect_live()

    assert console.errors == []


def test_the_admin_works_under_the_policy(context, server, desk, console):
    desk.user.is_staff = desk.user.is_superuser = True
    desk.user.save()
    page = context.new_page()
    console.watch(page, "admin")
    # The admin's pages name no icon, so the browser asks for /favicon.ico.
    with console.expecting(r"status of 404 \(Not Found\)", "no favicon in the admin"):
        response = page.goto(server.url + "/admin/login/")
        assert "content-security-policy" in response.headers

        page.get_by_label("Username").fill(desk.username)
        page.get_by_label("Password").fill(desk.password)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
        page.goto(server.url + "/admin/trading/strategyinstance/")
        expect(page.locator("#result_list")).to_be_visible()
        page.locator("#action-toggle").check()  # the admin's own scripts run
        expect(page.locator(".action-counter")).to_contain_text("selected")

    assert console.errors == []


def test_the_api_docs_render_under_the_policy(context, server, console):
    page = context.new_page()
    console.watch(page, "api docs")
    # Redoc's sidebar shows its maker's logo from cdn.redoc.ly, with no
    # option to leave it out; the policy refuses that host (its files come
    # from the sidecar so the desk's browsers reach no other host), and
    # Redoc hides the broken image itself. The one violation expected.
    with console.expecting(r"cdn\.redoc\.ly/redoc/logo-mini\.svg", "Redoc's branding image"):
        response = page.goto(server.url + "/api/docs/")
        policy = policy_of(response)
        assert policy["script-src"] == ["'self'"]
        expect(page.get_by_role("heading", name="Store browser log entries")).to_be_visible()
    assert console.errors == []
