"""Baggage items as baggage.<key> span tags: Datadog's default keys, a
configured list, "*" for all, and off."""

from harness import client


def span_for(nginx, agent, directives, baggage):
    server = nginx(f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    {directives}
    server {{ listen 127.0.0.1:@PORT@; location / {{ return 200; }} }}""")
    client.get(server.port, "/", headers={"baggage": baggage})
    return agent.wait_for_spans(1)[0]["meta"]


BAGGAGE = "user.id=amy,session.id=s1,plan=gold,account.id=a%209"


def test_default_keys_become_span_tags(nginx, agent):
    meta = span_for(nginx, agent, "", BAGGAGE)
    assert meta["baggage.user.id"] == "amy"
    assert meta["baggage.session.id"] == "s1"
    assert meta["baggage.account.id"] == "a 9"
    assert "baggage.plan" not in meta


def test_configured_keys(nginx, agent):
    meta = span_for(nginx, agent, "datadog_baggage_tags_keys plan;", BAGGAGE)
    assert meta["baggage.plan"] == "gold"
    assert "baggage.user.id" not in meta


def test_star_takes_every_item(nginx, agent):
    meta = span_for(nginx, agent, "datadog_baggage_tags_keys *;", BAGGAGE)
    assert {k for k in meta if k.startswith("baggage.")} == {
        "baggage.user.id", "baggage.session.id", "baggage.plan", "baggage.account.id"}


def test_disabled(nginx, agent):
    meta = span_for(nginx, agent, "datadog_baggage_tags_enabled off;", BAGGAGE)
    assert not [k for k in meta if k.startswith("baggage.")]


def test_keys_that_are_the_same_once_made_valid_utf8_give_one_tag(nginx, agent):
    # %FF and %FE are invalid UTF-8, both reported as U+FFFD, as is a literal
    # U+FFFD (%EF%BF%BD): one tag, with the value of the last item, as for any
    # key given twice. The agent rejects a payload whose meta repeats a key.
    meta = span_for(nginx, agent, "datadog_baggage_tags_keys *;", "%FF=a,%FE=b,%EF%BF%BD=c,x%FFy=d,plan=gold")
    assert agent.errors == []
    assert {k: v for k, v in meta.items() if k.startswith("baggage.")} == {
        "baggage.\ufffd": "c", "baggage.x\ufffdy": "d", "baggage.plan": "gold"}
