"""Marker paging: each request repeats the first with the last page's marker."""

from __future__ import annotations

from airflow_neon_dms.dms.paging import MarkerPages


def test_pages_follow_the_marker_until_it_is_gone() -> None:
    pages = MarkerPages("TableStatistics", ReplicationTaskArn="arn:t", MaxRecords=500)
    responses = iter(
        [
            {"TableStatistics": [{"TableName": "a"}], "Marker": "m1"},
            {"TableStatistics": [{"TableName": "b"}], "Marker": "m2"},
            {"TableStatistics": []},
        ]
    )
    requests = []
    while (kwargs := pages.next_request()) is not None:
        requests.append(kwargs)
        pages.add(next(responses))
    assert requests == [
        {"ReplicationTaskArn": "arn:t", "MaxRecords": 500},
        {"ReplicationTaskArn": "arn:t", "MaxRecords": 500, "Marker": "m1"},
        {"ReplicationTaskArn": "arn:t", "MaxRecords": 500, "Marker": "m2"},
    ]
    assert pages.records == [{"TableName": "a"}, {"TableName": "b"}]


def test_an_empty_marker_ends_the_paging() -> None:
    pages = MarkerPages("Endpoints")
    pages.add({"Endpoints": [{"EndpointIdentifier": "e"}], "Marker": ""})
    assert pages.next_request() is None
    assert pages.records == [{"EndpointIdentifier": "e"}]
