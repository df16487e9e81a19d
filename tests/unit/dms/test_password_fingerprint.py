"""The salted scrypt fingerprint kept in the endpoint tag."""

from __future__ import annotations

from airflow_neon_dms.dms.password_fingerprint import fingerprint_matches, password_fingerprint


def test_fingerprint_matches_only_its_password_and_hides_it() -> None:
    first = password_fingerprint("s3cret-pw")
    assert fingerprint_matches(first, "s3cret-pw")
    assert not fingerprint_matches(first, "s3cret-pX")
    assert "s3cret" not in first
    assert len(first) <= 256  # the DMS tag value limit


def test_each_fingerprint_has_its_own_salt() -> None:
    assert password_fingerprint("same") != password_fingerprint("same")


def test_missing_or_unreadable_fingerprints_never_match() -> None:
    good = password_fingerprint("pw")
    for value in (None, "", "sha256:abc", good.replace("scrypt:14", "scrypt:20"), good[:-3] + "zzz"):
        assert not fingerprint_matches(value, "pw"), value
