"""E-mails: both parts, both languages for approvers, hostile text inert, headers safe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from chalicelib.adapters.policy_files import load_policy
from chalicelib.dev.outbox import parse_raw
from chalicelib.domain.submission import validate_submission
from chalicelib.domain.workflow import confirm, new_request
from chalicelib.notify.messages import RenderedEmail, render_email
from chalicelib.notify.ses import build_mime
from tests.conftest import PROJECT_ROOT, valid_form

pytestmark = pytest.mark.unit
POLICY = load_policy(PROJECT_ROOT / "policies")
TEMPLATES = PROJECT_ROOT / "templates"
NOW = datetime(2026, 11, 29, 21, 5, tzinfo=UTC)
HOSTILE = '<script>alert(1)</script> "><svg onload=alert(1)> {{7*7}} javascript:alert(1)'


def approval_email(justification: str) -> RenderedEmail:
    content = validate_submission(valid_form(justification=justification), POLICY).content
    assert content is not None
    request = confirm(new_request("0123456789abcdef01234567", content, POLICY, "fr", NOW), NOW)
    return render_email(
        TEMPLATES,
        "approval_needed",
        ["fr", "en"],
        {
            "request": request,
            "policy": POLICY,
            "decide_url": "https://sesame.example/decide/TOKEN",
            "step_role": "manager",
            "link_expires_at": NOW + timedelta(days=7),
            "delegation": None,
        },
    )


def test_an_approver_reads_french_first_then_english() -> None:
    mail = approval_email("x" * 30 + " veille des médias sociaux pour le programme")
    assert mail.subject.startswith("Demande d'accès à LinkedIn, X (anciennement Twitter)")
    assert "votre approbation est requise" in mail.subject
    assert "your approval is needed" in mail.subject
    assert mail.text.index("Bonjour") < mail.text.index("Hello")
    assert mail.text.count("https://sesame.example/decide/TOKEN") == 2
    assert mail.text.count("https://sesame.example/delegate/TOKEN") == 2
    french, english = mail.text.split("-" * 60)
    assert "/decide/TOKEN?lang=fr" in french and "/decide/TOKEN?lang=en" in english
    assert '<html lang="fr">' in mail.html and '<div lang="en">' in mail.html
    assert "6 décembre 2026, 16 h 05" in mail.text


def test_hostile_justification_is_inert_in_html_and_literal_in_text() -> None:
    mail = approval_email(HOSTILE)
    assert "<script>" not in mail.html and "<svg" not in mail.html
    assert "&lt;script&gt;" in mail.html
    assert "{{7*7}}" in mail.text and "49" not in mail.text
    assert HOSTILE in mail.text


def test_the_mime_message_has_both_parts_and_round_trips() -> None:
    mail = approval_email("x" * 30 + " veille des médias sociaux pour le programme")
    raw = build_mime("sesame@mcn.gouv.qc.ca", ["jean@mcn.gouv.qc.ca"], mail, NOW)
    parsed = parse_raw(raw)
    assert parsed.to == ["jean@mcn.gouv.qc.ca"]
    assert parsed.subject == mail.subject
    assert "Bonjour" in parsed.text and "<html" in parsed.html
    # Each language's section carries its language in its links (issue 13, item 9).
    assert parsed.links == [
        "https://sesame.example/decide/TOKEN?lang=fr",
        "https://sesame.example/delegate/TOKEN?lang=fr",
        "https://sesame.example/decide/TOKEN?lang=en",
        "https://sesame.example/delegate/TOKEN?lang=en",
    ]


def test_a_line_break_cannot_smuggle_a_header() -> None:
    mail = RenderedEmail(subject="Hi\r\nBcc: attacker@example.com", text="t", html="h", lang="fr")
    with pytest.raises(ValueError, match=r"linefeed|carriage"):
        build_mime("sesame@mcn.gouv.qc.ca", ["jean@mcn.gouv.qc.ca"], mail, NOW)


def test_every_email_renders_in_both_languages_with_a_text_part() -> None:
    from chalicelib.domain.delegation import new_delegation
    from chalicelib.domain.workflow import decide

    request = confirm(
        new_request(
            "0123456789abcdef01234567",
            validate_submission(valid_form(), POLICY).content,  # type: ignore[arg-type]
            POLICY,
            "fr",
            NOW,
        ),
        NOW,
    )
    refused = decide(request, 0, "jean.gestion@mcn.gouv.qc.ca", "refuse", "Non.", NOW, "link")
    approved = decide(request, 0, "jean.gestion@mcn.gouv.qc.ca", "approve", "", NOW, "link")
    approved = decide(approved, 1, "rssi.demo@mcn.gouv.qc.ca", "approve", "", NOW, "link")
    delegation = new_delegation(
        "abcdef0123456789", "jean.gestion@mcn.gouv.qc.ca", "adjoint@mcn.gouv.qc.ca",
        NOW.date(), NOW.date(), NOW.date(), NOW, POLICY,
    )  # fmt: skip
    context = {
        "policy": POLICY,
        "confirm_url": "https://s/confirm/T",
        "status_url": "https://s/status/T",
        "decide_url": "https://s/decide/T",
        "step_role": "manager",
        "link_expires_at": NOW,
        "delegation": delegation,
        "refusal": refused.steps[0],
        "signin_url": "https://s/signin/T",
        "link": SimpleNamespace(expires_at=NOW),
        "renew_url": "https://s/renew/T",
        "new_role": "security",
        "since": NOW,
        "nudge": None,
        "cancel_url": "https://s/undelegate/T",
        "cancel_expires_at": NOW,
        "console_url": "https://s/console/requests/0123456789abcdef01234567",
        "completion": SimpleNamespace(version="2026-12-01", score=4, out_of=5, passed_at=NOW),
        "policy_version": "2027-01-01",
        "deadline": NOW,
        "reminder": False,
        "ends": True,
        "acknowledge_url": "https://s/usage-policy",
        "review_url": "https://s/review/T",
        "answer_by": NOW,
        "period_ends": NOW,
        "every_days": 30,
    }
    from chalicelib.domain.lifecycle import revoke

    revoked = revoke(approved, "rssi.demo@mcn.gouv.qc.ca", "Fin du projet.", NOW)
    names = sorted(
        p.name.removesuffix(".subject.txt") for p in (TEMPLATES / "email").glob("*.subject.txt")
    )
    assert len(names) >= 5
    for name in names:
        for lang in ("fr", "en"):
            chosen = {
                "request_refused": refused,
                "request_approved": approved,
                "access_revoked": revoked,
                "access_ending": approved,
                "access_ended": approved,
                "trained_path_notice": approved,
                "review_needed": approved,
            }.get(name, request)
            mail = render_email(TEMPLATES, name, [lang], {**context, "request": chosen})
            assert mail.subject and "\n" not in mail.subject, name
            assert len(mail.text) > 80, (name, lang)
            assert f'<html lang="{lang}">' in mail.html, (name, lang)


def test_a_reminder_and_a_hand_over_say_why_the_approver_is_asked_again() -> None:
    content = validate_submission(valid_form(), POLICY).content
    assert content is not None
    request = confirm(new_request("0123456789abcdef01234567", content, POLICY, "fr", NOW), NOW)
    context = {
        "policy": POLICY,
        "request": request,
        "decide_url": "https://s/decide/T",
        "step_role": "manager",
        "link_expires_at": NOW,
        "delegation": None,
    }
    reminder = {"kind": "reminder", "count": 2, "since": NOW}
    mail = render_email(TEMPLATES, "approval_needed", ["fr", "en"], {**context, "nudge": reminder})
    assert mail.subject.startswith("Rappel 2 :")
    assert "Reminder 2:" in mail.subject
    assert "attend votre décision depuis le" in mail.text
    handed = {"kind": "escalated", "previous": ("jean.gestion@mcn.gouv.qc.ca",), "since": NOW}
    mail = render_email(TEMPLATES, "approval_needed", ["en"], {**context, "nudge": handed})
    assert "handed to you" in mail.subject
    assert "because jean.gestion@mcn.gouv.qc.ca did not decide" in mail.text
    first = render_email(TEMPLATES, "approval_needed", ["en"], {**context, "nudge": None})
    assert "Reminder" not in first.subject and "handed" not in first.text
