#!/usr/bin/env python3
"""Drives Parley with python-socketio, an independent Socket.IO implementation.

Usage:
    python3 tests/interop/python_client.py URL ALICE_TOKEN BOB_TOKEN
    (or PARLEY_URL, ALICE_TOKEN, BOB_TOKEN in the environment)

Connects as alice and as bob (the users are the tokens' `sub`), then checks:
a refused token, send with ack (and no messageSent echo), receive (with the
delivery ack), a resend with and without an ack, typing, history, a read receipt
and a validation error. Prints one JSON object on stdout:
{"ok": true, "checks": [...], ...} and exits 0, or {"ok": false, "reason": ...}
and exits 1.
"""

import base64
import json
import os
import queue
import sys
import uuid

import socketio

TIMEOUT = 5


class CheckFailed(Exception):
    pass


def subject(token):
    """The `sub` claim of a JWT (read, not verified: the server verifies)."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        return json.loads(base64.urlsafe_b64decode(payload))["sub"]
    except (IndexError, ValueError, KeyError) as err:
        raise CheckFailed(f"not a JWT with a sub claim: {err}") from err


def expect(condition, what, got=None):
    if not condition:
        raise CheckFailed(f"{what} (got {json.dumps(got, default=str)})")


def next_item(q, what):
    try:
        return q.get(timeout=TIMEOUT)
    except queue.Empty:
        raise CheckFailed(f"timed out after {TIMEOUT}s waiting for {what}") from None


class User:
    """A connected client that queues every server event it receives."""

    EVENTS = ("receiveMessage", "messageSent", "userTyping", "messageRead",
              "messageDelivered", "messageError", "userOnline")

    def __init__(self, url, token):
        self.id = subject(token)
        self.client = socketio.Client(reconnection=False)
        self.queues = {event: queue.Queue() for event in self.EVENTS}
        self.extra_args = set()
        for event in self.EVENTS:
            self.client.on(event, self._handler(event))
        self.client.connect(url, auth={"token": token}, transports=["websocket"],
                            wait_timeout=TIMEOUT)

    def _handler(self, event):
        # `*extra`: with connection state recovery on, the server appends its
        # offset (a string) to every room broadcast. socket.io-client strips it;
        # python-socketio passes it on as one more argument.
        def handle(payload, *extra):
            if extra:
                self.extra_args.add(event)
            self.queues[event].put(payload)
            # Returning acknowledges: the server asks for one on receiveMessage.
            return None
        return handle

    def wait(self, event, where=lambda _p: True):
        while True:
            payload = next_item(self.queues[event], f"{event} for {self.id}")
            if where(payload):
                return payload

    def call(self, event, payload):
        try:
            return self.client.call(event, payload, timeout=TIMEOUT)
        except socketio.exceptions.TimeoutError:
            raise CheckFailed(f"no ack to {event} within {TIMEOUT}s") from None

    def close(self):
        if self.client.connected:
            self.client.disconnect()


def run(url, alice_token, bob_token):
    checks = []

    refused = socketio.Client(reconnection=False)
    refusals = queue.Queue()
    refused.on("connect_error", refusals.put)
    try:
        refused.connect(url, auth={"token": "not-a-token"}, transports=["websocket"],
                        wait_timeout=TIMEOUT)
        refused.disconnect()
        raise CheckFailed("a bad token was accepted")
    except socketio.exceptions.ConnectionError:
        pass
    refusal = next_item(refusals, "connect_error")
    expect(isinstance(refusal, dict) and refusal.get("message") == "unauthorized"
           and refusal.get("data", {}).get("code") == "UNAUTHORIZED",
           "connect_error says unauthorized, code UNAUTHORIZED", refusal)
    checks.append("bad token refused")

    bob = User(url, bob_token)
    alice = User(url, alice_token)
    try:
        checks.append("connected with tokens")

        client_id = str(uuid.uuid4())
        ack = alice.call("sendMessage", {"receiverId": bob.id, "text": "hello from python",
                                         "clientMessageId": client_id})
        expect(isinstance(ack, dict) and ack.get("ok") is True, "sendMessage ack ok", ack)
        message = ack["message"]
        expect(message["senderId"] == alice.id and message["receiverId"] == bob.id,
               "sender and receiver from the tokens", message)
        expect(message["text"] == "hello from python", "text stored", message)
        expect(message["clientMessageId"] == client_id, "clientMessageId kept", message)
        expect(message["readAt"] is None, "not read yet", message)
        checks.append("send with ack")

        received = bob.wait("receiveMessage")
        expect(received == message, "bob receives the stored message", received)
        checks.append("receive")

        delivered = alice.wait("messageDelivered", lambda p: p["messageId"] == message["_id"])
        expect(delivered["receiverId"] == bob.id, "delivered to bob", delivered)
        # The server emits messageSent before the receipt, so it would be queued by now.
        expect(alice.queues["messageSent"].empty(),
               "a send with an ack gets no messageSent on that socket",
               list(alice.queues["messageSent"].queue))
        checks.append("delivery ack")

        duplicate = alice.call("sendMessage", {"receiverId": bob.id, "text": "hello from python",
                                               "clientMessageId": client_id})
        expect(duplicate.get("ok") is True and duplicate.get("duplicate") is True
               and duplicate["message"]["_id"] == message["_id"],
               "a resend with the same clientMessageId is the original", duplicate)
        # Without an ack (as the brief's clients send), messageSent is the answer.
        alice.client.emit("sendMessage", {"receiverId": bob.id, "text": "hello from python",
                                          "clientMessageId": client_id})
        sent = alice.wait("messageSent")
        expect(sent["_id"] == message["_id"], "a resend without an ack gets messageSent", sent)
        checks.append("idempotent resend")

        alice.client.emit("typing", {"receiverId": bob.id, "isTyping": True})
        typing = bob.wait("userTyping")
        expect(typing == {"userId": alice.id, "isTyping": True}, "userTyping on", typing)
        alice.client.emit("typing", {"receiverId": bob.id, "isTyping": False})
        typing = bob.wait("userTyping")
        expect(typing == {"userId": alice.id, "isTyping": False}, "userTyping off", typing)
        checks.append("typing")

        history = alice.call("getChatHistory", {"userId1": alice.id, "userId2": bob.id,
                                                "limit": 10})
        expect(history.get("ok") is True, "getChatHistory ack ok", history)
        expect([m["_id"] for m in history["messages"]] == [message["_id"]],
               "history holds the message once", history)
        checks.append("history")

        read = bob.call("messageRead", {"messageId": message["_id"]})
        expect(read.get("ok") is True and read["readerId"] == bob.id, "messageRead ack", read)
        receipt = alice.wait("messageRead")
        expect(receipt == {"messageId": message["_id"], "readerId": bob.id,
                           "readAt": read["readAt"]}, "alice gets the read receipt", receipt)
        checks.append("read receipt")

        bad = alice.call("sendMessage", {"receiverId": bob.id})
        expect(bad.get("ok") is False and bad.get("code") == "VALIDATION_ERROR"
               and bad.get("event") == "sendMessage", "an invalid send is refused", bad)
        error = alice.wait("messageError")
        expect(error.get("code") == "VALIDATION_ERROR", "messageError too", error)
        checks.append("validation error")

        return {"ok": True, "checks": checks, "alice": alice.id, "bob": bob.id,
                "messageId": message["_id"],
                "eventsWithExtraArgs": sorted(alice.extra_args | bob.extra_args)}
    finally:
        alice.close()
        bob.close()


def main(argv):
    args = argv[1:]
    url = args[0] if len(args) > 0 else os.environ.get("PARLEY_URL")
    alice_token = args[1] if len(args) > 1 else os.environ.get("ALICE_TOKEN")
    bob_token = args[2] if len(args) > 2 else os.environ.get("BOB_TOKEN")
    if not (url and alice_token and bob_token):
        print(json.dumps({"ok": False, "reason": "usage: python_client.py URL ALICE_TOKEN "
                                                 "BOB_TOKEN (or PARLEY_URL, ALICE_TOKEN, "
                                                 "BOB_TOKEN)"}))
        return 2
    try:
        result = run(url, alice_token, bob_token)
    except CheckFailed as err:
        result = {"ok": False, "reason": str(err)}
    except Exception as err:  # noqa: BLE001 - any failure is a failed run, reported as JSON
        result = {"ok": False, "reason": f"{type(err).__name__}: {err}"}
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
