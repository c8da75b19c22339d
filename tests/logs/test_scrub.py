"""What counts as an obvious secret, and what is left alone."""

import pytest

from logs.scrub import scrub, scrub_text


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("Authorization: Bearer abc.def", "Authorization: [scrubbed]"),
        ('{"authorization": "Token 9944b09199c6"}', '{"authorization": "[scrubbed]"}'),
        (
            "sent Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b twice",
            "sent Token [scrubbed] twice",
        ),
        ("login password=hunter2&user=bob", "login password=[scrubbed]&user=bob"),
        ("/ws?access_token=abc123&x=1", "/ws?access_token=[scrubbed]&x=1"),
        ("csrftoken=abc; sessionid=xyz", "csrftoken=[scrubbed]; sessionid=[scrubbed]"),
        ("'api_key': 'k-123'", "'api_key': '[scrubbed]'"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln seen", "jwt [scrubbed] seen"),
        ("x-eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "x-[scrubbed]"),
        ("a.eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "a.[scrubbed]"),
        (
            "my-app_session-id: s1; x-csrftoken=t2",
            "my-app_session-id: [scrubbed]; x-csrftoken=[scrubbed]",
        ),
    ],
)
def test_it_scrubs_secrets_in_text(text, scrubbed):
    assert scrub_text(text) == scrubbed


@pytest.mark.parametrize(
    "text",
    ["Token validation failed", "the password is wrong", "author=bob", "bypass the cache"],
)
def test_it_leaves_ordinary_text_alone(text):
    assert scrub_text(text) == text


def test_it_scrubs_secret_keys_and_secret_text_at_any_depth():
    context = {
        "Password": "hunter2",
        "request": {"headers": {"Authorization": "Basic dXNlcjpwdw=="}, "path": "/x?token=t0k"},
        "attempts": [{"api-key": "k"}, "fine"],
        "author": "bob",
        "count": 3,
    }

    assert scrub(context) == {
        "Password": "[scrubbed]",
        "request": {"headers": {"Authorization": "[scrubbed]"}, "path": "/x?token=[scrubbed]"},
        "attempts": [{"api-key": "[scrubbed]"}, "fine"],
        "author": "bob",
        "count": 3,
    }
