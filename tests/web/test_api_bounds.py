"""Input the database cannot hold, or cannot even read, is refused with a 4xx naming it."""

TOO_BIG = 2**63


def test_ids_beyond_a_64_bit_integer_are_refused_naming_the_parameter(api):
    for path in (f"/api/v1/alerts/{TOO_BIG}", f"/api/v1/tasks/{TOO_BIG}",
                 f"/api/v1/notifications?cursor={TOO_BIG}", f"/api/v1/deliveries/{TOO_BIG}"):
        answer = api.get(path)
        assert answer.status_code == 422, path
        assert answer.json()["errors"][0]["field"] in ("alert_id", "task_id", "cursor",
                                                       "delivery_id")
    answer = api.post("/api/v1/suggestions/accept", json={"ids": [TOO_BIG]})
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "ids[0]"


def test_a_body_that_is_not_text_answers_400_in_the_callers_language(api):
    answer = api.post("/api/v1/stock/receive", content=b'{"sku": "\xff\xfe"',
                      headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["errors"] == [{"field": "body", "message": "不是有效的 JSON"}]
