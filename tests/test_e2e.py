"""End to end: the real Rasa server and action server, on free ports, over HTTP."""
import pytest
import requests

from bot.rasa_client import END_COMMAND, RasaRestClient, start_command

pytestmark = pytest.mark.e2e
texts, payloads = RasaRestClient.texts, RasaRestClient.payloads


def test_a_conversation_from_start_to_scorecard(conversation):
    opening = conversation.send(start_command("laptop_at_home_service", "angry", "coach"))
    assert texts(opening), opening
    (started,) = payloads(opening, "session_started")
    assert started["customer_name"] == "Dana Whitfield" and started["mode"] == "coach"

    replies = [
        "Hi Dana, I'm so sorry your laptop keeps crashing and nobody called you back.",
        "So it has crashed with a blue screen every day since it arrived, even after the updates?",
        "What happens on the screen right before it crashes?",
    ]
    moods = [started["mood"]]
    for turn, reply in enumerate(replies, start=1):
        answer = conversation.send(reply)
        assert texts(answer), answer
        (feedback,) = payloads(answer, "feedback")
        assert feedback["turn"] == turn
        assert set(feedback["checks"]) >= {"greeting", "active_listening", "apology", "next_step", "defensive"}
        moods.append(feedback["mood"])
    assert moods[-1] > moods[0]

    (card,) = payloads(conversation.send(END_COMMAND), "scorecard")
    assert card["session_id"] == started["session_id"]
    assert card["outcome"] == "abandoned" and card["turns"] == 3
    assert card["criteria"]["apology"]["met"] is True
    assert 0 <= card["score"] <= 100


def test_the_customer_ends_a_resolved_conversation_with_a_scorecard(conversation):
    # The customer accepts the plan and waits; the trainee's closing reply brings the scorecard.
    conversation.send(start_command("laptop_at_home_service", "dispassionate", "assessment"))
    last = []
    for reply in [
        "Hello Dana, thanks for your patience, and I apologize for the missed callbacks.",
        "So your laptop crashes with a blue screen every day and three calls went unanswered?",
        "I'll book a technician for tomorrow at 9 am and I'll call you by 5 pm today to confirm.",
    ]:
        last = conversation.send(reply)
        assert not payloads(last, "feedback"), "assessment mode must not show feedback"
        assert not payloads(last, "scorecard"), "the scorecard came before the closing reply"
    last = conversation.send("Thank you, Dana. Have a good day.")
    (card,) = payloads(last, "scorecard")
    assert card["outcome"] == "resolved" and card["passed"] is True


@pytest.mark.parametrize(
    "message, code",
    [
        ("Hello, how can I help?", "no_session"),
        (start_command("no_such_scenario"), "unknown_scenario"),
    ],
)
def test_errors_are_answered_not_silent(conversation, message, code):
    answer = conversation.send(message)
    (error,) = payloads(answer, "error")
    assert error["code"] == code and error["message"]


def test_oversize_and_empty_replies_get_a_clear_error(conversation):
    conversation.send(start_command("laptop_at_home_service"))
    for message, code in (("x " * 1500, "message_too_long"), ("   ", "empty_message"), ("", "empty_message")):
        (error,) = payloads(conversation.send(message), "error")
        assert error["code"] == code
    # The session survives bad input: the next real reply is turn 1.
    (feedback,) = payloads(conversation.send("I'm sorry about the crashes."), "feedback")
    assert feedback["turn"] == 1


def _listening_addresses(port):
    """Local addresses with a listening TCP socket on `port`, read from the kernel's tables."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            for row in list(handle)[1:]:
                local, state = row.split()[1], row.split()[3]
                address, port_hex = local.rsplit(":", 1)
                if state == "0A" and int(port_hex, 16) == port:  # 0A = LISTEN
                    found.add(address)
    return found


def test_servers_listen_on_loopback_only(assistant):
    settings = assistant["settings"]
    loopback = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1 and ::1 as the kernel writes them
    for port in (settings.rasa_port, settings.actions_port, settings.web_port):
        addresses = _listening_addresses(port)
        assert addresses and addresses <= loopback, (port, addresses)
    assert requests.get(f"{assistant['actions_url']}/health", timeout=5).json() == {"status": "ok"}


def test_killing_the_action_server_loses_no_completed_turn(assistant, conversation):
    """The action server dies mid-conversation: every turn answered before is in the database,
    Rasa answers `no_answer` meanwhile, and after a restart the conversation goes on."""
    import signal

    from bot import db

    actions = assistant["services"]["Action server"]
    (started,) = payloads(conversation.send(start_command("phone_warranty_water_damage", "angry")), "session_started")
    sent = ["Hello Marcus, I'm sorry your repair was refused.", "What exactly did the repair centre tell you?"]
    for text in sent:
        assert payloads(conversation.send(text), "feedback")

    actions.process.send_signal(signal.SIGKILL)
    actions.process.wait(timeout=10)
    # Not silence (stock Rasa's `200 []`): our channel says the customer could not answer.
    assert [e["code"] for e in payloads(conversation.send("Are you still there?"), "error")] == ["no_answer"]

    engine = db.make_engine(assistant["database_url"])
    with db.session_scope(engine) as session:
        transcript = db.get_transcript(session=session, session_id=started["session_id"])
        assert [t.trainee_text for t in transcript.turns] == sent

    actions.start().wait_until_up()
    (feedback,) = payloads(conversation.send("I'll call the repair centre today and email you by 4 pm."), "feedback")
    assert feedback["turn"] == 3
