"""A chat-completions server on 127.0.0.1 with scripted answers, latency and faults (for tests and bench).

It speaks enough of the OpenAI protocol for the real ``openai`` client: POST /v1/chat/completions
-> {choices: [{message, finish_reason}], usage}. Answers depend on the prompt, so every synthesis
type gets something parseable; ``faults`` (a queue) makes the next requests misbehave.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def scripted_answer(prompt: str) -> str:
    tags = "".join(re.findall(r"<image>|<audio>", prompt.split("\n\n", 1)[-1])) if "Translate" in prompt else ""
    number = int(hashlib.sha1(prompt.encode()).hexdigest()[:6], 16)
    if "into standard Malay" in prompt:
        return f"{tags}Ini ialah terjemahan yang jelas dan tepat untuk ayat nombor {number}."
    if "into English" in prompt:
        return f"{tags}This is a clear and accurate translation of the sentence number {number}."
    if "generate questions based on context above" in prompt:
        return (
            "Here are some questions:\n1. What is the speaker explaining in this recording?\n"
            '2. "Which city does the speaker mention in the talk?"\n- short one?\n3. Why does the speaker care?'
        )
    if "Write the next question" in prompt:
        return "What else does the speaker say about the city?"
    if "Answer the user's last question" in prompt:
        return "The speaker says the city is hot and humid today."
    if "Write a conversation of" in prompt:
        return json.dumps(
            [
                {"user": "What dish is shown in the picture?", "assistant": "It is nasi lemak with sambal."},
                {"user": "What is it usually eaten with?", "assistant": "It is usually eaten with teh tarik."},
            ]
        )
    if "Picture 1:" in prompt or "Audio 1:" in prompt:
        return "Both of them are part of daily life in Malaysia and they are often found together."
    return "The speaker explains the topic in detail and gives an example from the city."


class FakeEndpoint:
    """Start with ``FakeEndpoint()``; ``.url`` is the base URL; ``.close()`` stops it."""

    def __init__(self, latency=0.0, answer=scripted_answer):
        self.latency = latency  # seconds, or a callable returning seconds
        self.answer = answer
        self.faults: deque[str] = deque()
        self.requests = 0
        self.prompts: list = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                with outer.lock:
                    outer.requests += 1
                    fault = outer.faults.popleft() if outer.faults else None
                    outer.prompts.append(body)
                delay = outer.latency() if callable(outer.latency) else outer.latency
                if fault == "timeout":
                    delay = 3.0
                time.sleep(delay)
                if fault == "reset":
                    self.connection.close()
                    self.close_connection = True
                    return
                if fault in ("429", "500", "503", "400", "401"):
                    payload = json.dumps({"error": {"message": f"scripted {fault}", "type": "test"}}).encode()
                    self.send_response(int(fault))
                    if fault == "429":
                        self.send_header("Retry-After", "0.2")
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                content = body["messages"][-1]["content"]
                prompt = content if isinstance(content, str) else " ".join(p.get("text", "") for p in content)
                answer = {"empty": "", "garbage": "no list here at all", "english-ms": "This is English, not Malay."}.get(
                    fault, outer.answer(prompt)
                )
                payload = json.dumps(
                    {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": answer},
                                "finish_reason": "length" if fault == "length" else "stop",
                            }
                        ],
                        "usage": {
                            "prompt_tokens": len(prompt) // 4,
                            "completion_tokens": len(answer) // 4,
                            "total_tokens": (len(prompt) + len(answer)) // 4,
                        },
                    }
                ).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        ThreadingHTTPServer.request_queue_size = 1024  # hundreds of clients connect at once in the benchmark
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def jitter(low: float, high: float, seed: int = 0):
    rng = random.Random(seed)
    lock = threading.Lock()

    def draw() -> float:
        with lock:
            return rng.uniform(low, high)

    return draw
