"""Chapter 7's programs: the Ollama client against a fake server on 127.0.0.1, score parsing, the chat helpers,
the terminal chat driven by scripted input, the Streamlit app through Streamlit's own testing API and served
headless over HTTP, and the scripts run as a learner runs them. Tiny random models keep it fast."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch
from notebook_runner import REPO_ROOT

from shared import (
    INSTRUCT_EMBEDDED,
    PERSONA_INSTRUCTIONS,
    RESPONSE_MARKERS,
    GPTModel,
    format_input,
    get_config,
    get_tokenizer,
    save_checkpoint,
    set_seed,
)
from shared.chat import (
    EOT,
    build_chat_prompt,
    chat_models,
    fit_chat_prompt,
    load_chat_model,
    load_faq,
    match_faq,
    next_token_candidates,
    stream_reply,
    until_stop,
)
from shared.instruction_finetune import BOOK_RECIPE, INSTRUCT_RECIPE
from shared.ollama import (
    OllamaError,
    OllamaNotRunning,
    average_score,
    check_ollama,
    generate_model_scores,
    list_models,
    ollama_running,
    parse_score,
    query_model,
    scoring_prompt,
)
from shared.pretrained import PRETRAINED_EMBEDDED

CH07 = REPO_ROOT / "ch07"
FAQ = load_faq(CH07 / "faq.json")
TOKENIZER = get_tokenizer("embedded")
PIRATE = PERSONA_INSTRUCTIONS["pirate"]


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"ch07_{name}", CH07 / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_model(context_length: int = 192, seed: int = 0) -> GPTModel:
    set_seed(seed)
    return GPTModel(get_config("tiny", context_length=context_length)).eval()  # ~40k parameters, vocab 2,048


@pytest.fixture
def checkpoints(tmp_path, monkeypatch):
    """A checkpoints folder with a tiny 'instruction-tuned' and a tiny 'pretrained' model, used by shared.chat."""
    folder = tmp_path / "checkpoints"
    save_checkpoint(folder / INSTRUCT_EMBEDDED, tiny_model(seed=1), tokenizer_name="embedded", save_rng=False)
    save_checkpoint(folder / PRETRAINED_EMBEDDED, tiny_model(seed=2), tokenizer_name="embedded", save_rng=False)
    monkeypatch.setenv("LLM_BOOK_CHECKPOINTS", str(folder))
    return folder


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens there once the socket is closed


# --- a fake Ollama server ---------------------------------------------------------------------------------

class FakeOllama(BaseHTTPRequestHandler):
    """Speaks Ollama's protocol: GET /api/tags, and POST /api/chat answered in chunked JSON lines."""
    protocol_version = "HTTP/1.1"
    requests: list[dict] = []
    judge_replies: dict[str, str] = {}  # a response text -> what the judge says about it

    def log_message(self, *args) -> None:  # keep the test output clean
        pass

    def send_json(self, code: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/api/tags":
            self.send_json(200, {"models": [{"name": "llama3:latest"}, {"name": "broken:latest"}]})
        else:
            self.send_json(404, {"error": "not found"})

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(request)
        if self.path != "/api/chat" or request["model"] not in ("llama3", "broken", "cut"):
            self.send_json(404, {"error": f"model \"{request['model']}\" not found, try pulling it first"})
            return
        prompt = request["messages"][-1]["content"]
        reply = next((r for text, r in self.judge_replies.items() if f"Model's answer: {text}\n" in prompt),
                     "Llamas eat grass, hay and leaves.")
        words = reply.split(" ")
        lines = [{"model": request["model"], "message": {"role": "assistant", "content": w + " "}, "done": False}
                 for w in words[:-1]] + [{"model": request["model"],
                                          "message": {"role": "assistant", "content": words[-1]}, "done": False}]
        if request["model"] == "broken":
            lines.insert(1, {"error": "the model ran out of memory"})
        if request["model"] != "cut":
            lines.append({"model": request["model"], "message": {"role": "assistant", "content": ""}, "done": True,
                          "total_duration": 1234})
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for line in lines:
            data = (json.dumps(line) + "\n").encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")


@pytest.fixture
def ollama_server():
    FakeOllama.requests = []
    FakeOllama.judge_replies = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOllama)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


# --- the Ollama client ------------------------------------------------------------------------------------

def test_query_model_joins_the_streamed_lines_and_asks_for_reproducible_answers(ollama_server):
    answer = query_model("What do llamas eat?", model="llama3", url=f"{ollama_server}/api/chat", num_ctx=1024)
    assert answer == "Llamas eat grass, hay and leaves."
    (request,) = FakeOllama.requests
    assert request["stream"] is True
    assert request["messages"] == [{"role": "user", "content": "What do llamas eat?"}]
    assert request["options"] == {"seed": 123, "temperature": 0.0, "num_ctx": 1024}


def test_the_server_check_is_over_http(ollama_server):
    assert ollama_running(ollama_server)
    assert list_models(ollama_server) == ["llama3:latest", "broken:latest"]
    check_ollama(ollama_server)  # no exception: it answers


def test_no_server_says_how_to_start_one(monkeypatch):
    host = f"http://127.0.0.1:{closed_port()}"
    assert not ollama_running(host, timeout=1.0)
    with pytest.raises(OllamaNotRunning, match="ollama serve") as err:
        check_ollama(host, model="llama3.2")
    assert "ollama pull llama3.2" in str(err.value) and host in str(err.value)
    with pytest.raises(OllamaNotRunning, match="ollama serve"):
        query_model("Hello", url=f"{host}/api/chat", timeout=2.0)
    monkeypatch.setenv("OLLAMA_HOST", host.removeprefix("http://"))  # Ollama's own variable, without a scheme
    assert not ollama_running(timeout=1.0)


def test_server_errors_become_clear_messages(ollama_server):
    url = f"{ollama_server}/api/chat"
    with pytest.raises(OllamaError, match="ollama pull mistral"):
        query_model("Hello", model="mistral", url=url)  # HTTP 404: the model was never pulled
    with pytest.raises(OllamaError, match="ran out of memory"):
        query_model("Hello", model="broken", url=url)  # an error line in the middle of the stream
    with pytest.raises(OllamaError, match="before its final 'done' line"):
        query_model("Hello", model="cut", url=url)


@pytest.mark.parametrize("reply, score", [
    ("85", 85), ("Score: 85/100", 85), ("I would rate it **90** out of 100.", 90), ("Out of 100, I give it 40.", 40),
    ("On a scale from 0 to 100: 65", 65), ("72.6", 73), ("The score is 100.", 100), ("0", 0),
    ("no idea", None), ("150", None), ("It deserves 101 points", None), ("", None),
])
def test_parse_score_finds_the_number_in_the_text(reply, score):
    assert parse_score(reply) == score


def test_scoring_prompt_holds_the_task_the_reference_and_the_response():
    entry = {"instruction": "Give the plural.", "input": "mouse", "output": "mice", "model_response": "mouses"}
    prompt = scoring_prompt(entry)
    for part in ("Instruction: Give the plural.", "Input: mouse", "Reference answer: mice",
                 "Model's answer: mouses", "0", "100", "integer"):
        assert part in prompt
    assert "Input:" not in scoring_prompt({**entry, "input": ""})


def test_generate_model_scores_gives_the_scores_and_leaves_out_unreadable_ones(ollama_server, capsys):
    FakeOllama.judge_replies = {"mice": "Score: 100/100", "mouses": "I'd say 40.", "meese": "Hard to tell."}
    data = [{"instruction": "Give the plural.", "input": "mouse", "output": "mice", "model_response": answer}
            for answer in ("mice", "mouses", "meese")]
    scores = generate_model_scores(data, "model_response", model="llama3", url=f"{ollama_server}/api/chat")
    assert scores == [100, 40]
    assert average_score(scores) == 70.0 and average_score([]) == 0.0
    assert "entry 2: no score" in capsys.readouterr().err
    assert len(FakeOllama.requests) == 3


def test_ollama_evaluate_script(ollama_server, checkpoints, tmp_path, capsys):
    script = load_script("ollama_evaluate")
    FakeOllama.judge_replies = {"hot": "0", "cold": "95"}
    path = tmp_path / "responses.json"
    path.write_text(json.dumps([{"instruction": "Give the opposite.", "input": "hot", "output": "cold",
                                 "model_response": answer} for answer in ("cold", "hot")]))
    assert script.main(["--file", str(path), "--host", ollama_server]) == 0
    out = capsys.readouterr().out
    assert "Number of scores: 2 of 2" in out and "Average score: 47.50" in out
    assert script.main(["--file", str(path), "--host", ollama_server, "--model", "mistral"]) == 1
    assert "ollama pull mistral" in capsys.readouterr().err
    assert script.main(["--file", str(tmp_path / "missing.json"), "--host", ollama_server]) == 2
    assert "gpt_instruction_finetuning.py" in capsys.readouterr().err
    (checkpoints / script.RESPONSES_FILE).write_text(path.read_text())  # the default: where the fine-tuning writes
    assert script.main(["--host", ollama_server, "--limit", "1", "--verbose"]) == 0
    assert "entry 0: 95" in capsys.readouterr().out
    done = subprocess.run([sys.executable, str(CH07 / "ollama_evaluate.py"), "--file", str(path), "--host",
                           f"http://127.0.0.1:{closed_port()}"], capture_output=True, text=True, timeout=120,
                          cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert done.returncode == 1 and "ollama serve" in done.stderr and "ollama pull llama3" in done.stderr


# --- the chat helpers -------------------------------------------------------------------------------------

def test_a_chat_turn_is_an_instruction_entry():
    assert build_chat_prompt("What is the plural of cat?") == (
        format_input({"instruction": "What is the plural of cat?", "input": ""}) + RESPONSE_MARKERS["alpaca"])
    with_persona = build_chat_prompt("Hello friend.", history=[("Good day.", "Ahoy!")], system=PIRATE)
    first = format_input({"instruction": PIRATE, "input": "Good day."}) + RESPONSE_MARKERS["alpaca"] + "Ahoy!" + EOT
    assert with_persona == first + format_input({"instruction": PIRATE, "input": "Hello friend."}) + "\n\n### Response:\n"


def test_fit_chat_prompt_drops_the_oldest_turns_to_fit_the_context_window():
    history = [(f"Message number {i}.", f"Reply number {i}.") for i in range(6)]
    alone = len(TOKENIZER.encode(build_chat_prompt("And now?", system=PIRATE)))
    turn = len(TOKENIZER.encode(build_chat_prompt("And now?", history[:1], PIRATE), allowed_special={EOT})) - alone
    context = alone + 2 * turn + 5 + 40  # room for the new message, two earlier turns and 40 new tokens
    ids, dropped = fit_chat_prompt(TOKENIZER, "And now?", history, PIRATE, context_length=context, max_new_tokens=40)
    assert dropped == 4
    assert len(ids) <= context - 40
    assert TOKENIZER.decode(ids) == build_chat_prompt("And now?", history[4:], PIRATE)  # the newest two kept
    assert fit_chat_prompt(TOKENIZER, "And now?", history, PIRATE, 10_000, 40)[1] == 0
    with pytest.raises(ValueError, match="shorter message or lower max new tokens"):
        fit_chat_prompt(TOKENIZER, "And now?", history, PIRATE, context_length=alone + 10, max_new_tokens=40)


def test_until_stop_ends_the_reply_at_a_next_turn_marker_split_over_pieces():
    assert "".join(until_stop(["Ahoy", " mat", "ey\n", "\n#", "## Instruction:\nmore"])) == "Ahoy matey"
    assert "".join(until_stop(["plain ", "text\n", "with # signs"])) == "plain text\nwith # signs"
    assert list(until_stop([])) == []


def test_stream_reply_streams_what_generate_chooses():
    model = tiny_model()
    ids = TOKENIZER.encode(build_chat_prompt("What is the plural of cat?"))
    pieces = list(stream_reply(model, TOKENIZER, ids, 12, temperature=0.9, top_k=50, seed=5))
    again = "".join(stream_reply(model, TOKENIZER, ids, 12, temperature=0.9, top_k=50, seed=5))
    assert "".join(pieces) == again and len(pieces) >= 1  # the same seed, the same reply
    from shared import generate
    out = generate(model, torch.tensor([ids]), 12, 192, temperature=0.9, top_k=50, seed=5,
                   eos_id=TOKENIZER.eot_token)
    expected = "".join(until_stop([TOKENIZER.decode(out[0, len(ids):].tolist())]))
    assert "".join(pieces) == expected


def test_next_token_candidates_are_the_softmax_at_the_temperature():
    model = tiny_model()
    ids = TOKENIZER.encode("Every light needs a keeper")
    candidates = next_token_candidates(model, TOKENIZER, ids, k=5, temperature=0.5)
    with torch.no_grad():
        logits = model(torch.tensor([ids]))[0, -1]  # (vocab_size,)
    probs = torch.softmax(logits / 0.5, dim=-1)
    top = torch.topk(probs, 5)
    assert [text for text, _ in candidates] == [TOKENIZER.decode([int(i)]) for i in top.indices]
    assert [p for _, p in candidates] == pytest.approx(top.values.tolist())
    assert next_token_candidates(model, TOKENIZER, ids, k=3, temperature=0.0)[0][1] == pytest.approx(
        float(torch.softmax(logits, dim=-1).max()))  # 0 shows the plain probabilities


@pytest.mark.parametrize("question, first_faq_question", [
    ("how do I start the app", "How do I start the chat app?"),
    ("What is this project about?", "What is this project?"),
    ("Is a GPU needed?", "Does this need a GPU?"),
    ("how do I build the instruction model", "How do I build the instruction-tuned model?"),
    ("what does temperature do", "What do temperature, top-k and top-p do?"),
])
def test_faq_matches_close_questions(question, first_faq_question):
    entry, score = match_faq(question, FAQ)
    assert entry["questions"][0] == first_faq_question and score >= 0.7


@pytest.mark.parametrize("message", [
    "Hello, how are you?", "What is the plural of mouse?", "What is the opposite of hot?", "Convert 3 km to meters.",
    "Hello friend, where is the treasure?", "Sort these words: pear, apple, fig", "Explain what a model is.",
    "What is 7 plus 5?", "The keeper lit the lamp.",
])
def test_faq_leaves_other_messages_to_the_model(message):
    assert match_faq(message, FAQ) is None


def test_load_faq_rejects_a_malformed_file(tmp_path):
    path = tmp_path / "faq.json"
    path.write_text(json.dumps([{"question": "singular key", "answer": "x"}]))
    with pytest.raises(ValueError, match="entry 0 must be an object with a non-empty 'questions' list"):
        load_faq(path)


def test_chat_models_say_what_is_missing_and_how_to_build_it(checkpoints):
    choices = chat_models()
    assert choices["instruction"].available and choices["pretrained"].available
    (checkpoints / INSTRUCT_EMBEDDED).unlink()
    missing = chat_models()["instruction"]
    assert not missing.available and "gpt_instruction_finetuning.py" in missing.how_to_get
    with pytest.raises(FileNotFoundError, match="gpt_instruction_finetuning.py"):
        load_chat_model("instruction")
    model, tokenizer, style, multi_turn = load_chat_model("pretrained")
    assert model.cfg["context_length"] == 192 and tokenizer.name == "embedded" and style == "alpaca" and multi_turn
    assert "instruct-gpt2-355M" not in chat_models()
    save_checkpoint(checkpoints / "instruct-gpt2-355M.pth", tiny_model(), tokenizer_name="embedded", save_rng=False)
    assert chat_models()["instruct-gpt2-355M"].available  # what gpt_instruction_finetuning.py --gpt2 355M saves
    assert isinstance(load_chat_model("instruct-gpt2-355M")[0], GPTModel)


def test_a_chat_model_keeps_the_prompt_style_and_turns_it_was_fine_tuned_with(checkpoints):
    save_checkpoint(checkpoints / INSTRUCT_EMBEDDED, tiny_model(seed=1), tokenizer_name="embedded", save_rng=False,
                    trainer_state={"recipe": INSTRUCT_RECIPE})  # what save_instruction_model records
    _, tokenizer, style, multi_turn = load_chat_model("instruction")
    assert style == "phi3" and multi_turn is False  # the small model gets each message alone
    assert BOOK_RECIPE["multi_turn"] is True
    ids, _ = fit_chat_prompt(tokenizer, "Hi.", [], PIRATE, 192, 10, style)
    assert tokenizer.decode(ids) == build_chat_prompt("Hi.", system=PIRATE, style="phi3")
    assert tokenizer.decode(ids).endswith(RESPONSE_MARKERS["phi3"])


def test_gpt2_is_offered_when_its_files_are_on_disk(checkpoints, monkeypatch, tmp_path):
    import shared.chat
    import shared.gpt2_weights
    present = {"gpt2-124M-weights", "gpt2-encoder-json", "gpt2-vocab-bpe"}

    def fake_resolve(name, download=True):
        assert download is False  # the app only looks, it never downloads
        if name not in present:
            raise shared.chat.ResourceError(f"{name} missing")
        return tmp_path / name
    monkeypatch.setattr(shared.chat, "resolve", fake_resolve)
    choices = chat_models()
    assert choices["gpt2-124M"].available and not choices["gpt2-355M"].available
    assert "ch05/gpt_download.py --model-size 355M" in choices["gpt2-355M"].how_to_get
    monkeypatch.setattr(shared.gpt2_weights, "load_gpt2", lambda size: tiny_model())
    monkeypatch.setattr(shared.chat, "get_tokenizer", lambda name: name)  # GPT-2's BPE files are not here
    model, tokenizer, style, multi_turn = load_chat_model("gpt2-124M")
    assert tokenizer == "gpt2" and isinstance(model, GPTModel) and style == "alpaca" and multi_turn


# --- the terminal chat ------------------------------------------------------------------------------------

def scripted(lines):
    """An input() stand-in that returns the lines in turn and then raises EOFError (Ctrl-D)."""
    queue = list(lines)

    def fake_input(prompt: str) -> str:
        if not queue:
            raise EOFError
        item = queue.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item
    return fake_input


def test_chat_loop_with_a_persona_streams_replies_and_ends_on_quit():
    chat = load_script("chat")
    out = io.StringIO()
    history = chat.run_chat(tiny_model(512), TOKENIZER, system=PIRATE, speaker="Pirate", max_new_tokens=8,
                            temperature=0.8, seed=1, input_fn=scripted(["Hello friend.", "", "Where is the ship?",
                                                                        "quit", "never read"]), out=out)
    text = out.getvalue()
    assert text.count("Pirate: ") == 2 and text.rstrip().endswith("Goodbye.")
    assert [user for user, _ in history] == ["Hello friend.", "Where is the ship?"]
    model = tiny_model(512)
    first_ids, _ = fit_chat_prompt(TOKENIZER, "Hello friend.", [], PIRATE, 512, 8)
    assert history[0][1] == "".join(stream_reply(model, TOKENIZER, first_ids, 8, 0.8, seed=1)).strip()


def test_chat_loop_drops_old_turns_and_says_so():
    chat = load_script("chat")
    out = io.StringIO()
    history = chat.run_chat(tiny_model(context_length=200), TOKENIZER, system=PIRATE, max_new_tokens=40,
                            temperature=1.0, input_fn=scripted(["One.", "Two.", "Three."]), out=out)
    assert "oldest turn no longer fit in the model's 200-token context window" in out.getvalue()
    assert len(history) < 3 and history[-1][0] == "Three."
    assert out.getvalue().rstrip().endswith("Goodbye.")  # Ctrl-D after the last message
    forgetful = io.StringIO()
    assert chat.run_chat(tiny_model(context_length=200), TOKENIZER, system=PIRATE, max_new_tokens=40,
                         input_fn=scripted(["One.", "Two."]), out=forgetful, keep_history=False) == []
    assert "dropped" not in forgetful.getvalue() and forgetful.getvalue().count("Model: ") == 2


def test_chat_loop_handles_ctrl_c_and_reset(monkeypatch):
    chat = load_script("chat")

    def interrupted_reply(*args, **kwargs):
        yield "Ahoy"
        raise KeyboardInterrupt
    monkeypatch.setattr(chat, "stream_reply", interrupted_reply)
    out = io.StringIO()
    history = chat.run_chat(tiny_model(), TOKENIZER, input_fn=scripted(["Hi.", "/reset", "Again.",
                                                                        KeyboardInterrupt()]), out=out)
    text = out.getvalue()
    assert "Model: Ahoy [stopped]" in text and "(conversation forgotten)" in text
    assert history == [("Again.", "Ahoy")] and text.rstrip().endswith("Goodbye.")


def test_chat_script_runs_with_scripted_stdin(checkpoints):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "LLM_BOOK_CHECKPOINTS": str(checkpoints)}
    command = [sys.executable, str(CH07 / "chat.py"), "--persona", "pirate", "--forget", "--max-new-tokens", "6",
               "--temperature", "0.7", "--top-k", "40", "--top-p", "0.95", "--seed", "3", "--device", "cpu"]
    done = subprocess.run(command, input="Hello there.\nexit\n", capture_output=True, text=True, timeout=120,
                          cwd=REPO_ROOT, env=env)
    assert done.returncode == 0, done.stderr
    assert f"System line: {PIRATE}" in done.stdout and "Pirate: " in done.stdout and "Goodbye." in done.stdout
    bad = subprocess.run([*command[:2], "--top-k", "0"], input="", capture_output=True, text=True, timeout=120,
                         cwd=REPO_ROOT, env=env)
    assert bad.returncode == 2 and "top_k must be a positive integer" in bad.stderr
    (checkpoints / INSTRUCT_EMBEDDED).unlink()
    missing = subprocess.run(command[:2], input="", capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
                             env=env)
    assert missing.returncode == 1 and "gpt_instruction_finetuning.py" in missing.stderr


def single_turn_model(checkpoints):
    """The fixture's instruction model saved as the chapter saves it: Phi-3 prompts, fine-tuned on single turns."""
    model = tiny_model(seed=1)
    save_checkpoint(checkpoints / INSTRUCT_EMBEDDED, model, tokenizer_name="embedded", save_rng=False,
                    trainer_state={"recipe": INSTRUCT_RECIPE})
    return model


def sampled_replies(model, messages, keep_history, seed=3, max_new_tokens=6):
    """What the chat should answer to `messages` with the pirate persona, sampling with seed + turn."""
    history, replies = [], []
    for turn, text in enumerate(messages):
        ids, _ = fit_chat_prompt(TOKENIZER, text, history if keep_history else [], PIRATE, 192, max_new_tokens,
                                 "phi3")
        reply = "".join(stream_reply(model, TOKENIZER, ids, max_new_tokens, 1.0, seed=seed + turn)).strip()
        history.append((text, reply))
        replies.append(reply)
    return replies


def test_chat_script_sends_a_single_turn_model_each_message_alone(checkpoints):
    model = single_turn_model(checkpoints)
    messages = ["Hello there.", "Where is the ship?"]
    alone, with_turns = sampled_replies(model, messages, False), sampled_replies(model, messages, True)
    assert alone[1] != with_turns[1]  # the earlier turn changes the second reply
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "LLM_BOOK_CHECKPOINTS": str(checkpoints)}
    command = [sys.executable, str(CH07 / "chat.py"), "--persona", "pirate", "--max-new-tokens", "6",
               "--temperature", "1.0", "--seed", "3", "--device", "cpu"]
    for flags, expected in (([], alone), (["--history"], with_turns), (["--forget"], alone)):
        done = subprocess.run(command + flags, input="\n".join(messages) + "\nquit\n", capture_output=True,
                              text=True, timeout=120, cwd=REPO_ROOT, env=env)
        assert done.returncode == 0, done.stderr
        said = [line.removeprefix("You: ").removeprefix("Pirate: ").strip()
                for line in done.stdout.splitlines() if "Pirate: " in line]
        assert said == expected, flags
        assert ("fine-tuned only on prompts at the start of its context" in done.stdout) == (flags == [])


# --- the Streamlit app ------------------------------------------------------------------------------------

def app_test():
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(CH07 / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def test_app_model_choice_and_a_sampled_reply_with_the_probability_chart(checkpoints):
    at = app_test()
    model_box = at.sidebar.selectbox(key="model")
    assert model_box.options[:2] == ["Instruction-tuned (Chapter 7)", "Pretrained (Chapter 5)"]
    assert all("weights not on disk" in option for option in model_box.options[2:])  # no GPT-2 files here
    model_box.select("pretrained")
    at.sidebar.selectbox(key="persona").select("pirate")
    at.sidebar.slider(key="temperature").set_value(0.8)
    at.sidebar.slider(key="max_new_tokens").set_value(10)
    at.sidebar.number_input(key="seed").set_value(7)
    at.sidebar.checkbox(key="show_probs").check()
    at.chat_input[0].set_value("Hello friend, where is the ship?").run()
    assert not at.exception, at.exception
    user, assistant = at.chat_message
    assert user.markdown[0].value == "Hello friend, where is the ship?"
    model, tokenizer, _, _ = load_chat_model(checkpoints / PRETRAINED_EMBEDDED)
    ids, _ = fit_chat_prompt(tokenizer, "Hello friend, where is the ship?", [], PIRATE, 192, 10)
    expected = "".join(stream_reply(model, tokenizer, ids, 10, temperature=0.8, seed=7)).strip()
    assert assistant.markdown[0].value == (expected or "*(the model ended its reply at once)*")
    (chart,) = at.get("vega_lite_chart")
    assert "probability" in chart.proto.spec


def test_app_answers_project_questions_from_the_faq(checkpoints):
    at = app_test()
    at.chat_input[0].set_value("How do I start the app?").run()
    answer = at.chat_message[-1]
    assert answer.markdown[0].value == match_faq("How do I start the app?", FAQ)[0]["answer"]
    assert "Answered from the project FAQ" in answer.caption[0].value
    at.sidebar.checkbox(key="use_faq").uncheck()
    at.chat_input[0].set_value("How do I start the app?").run()  # the same question, now to the model
    assert not at.exception
    assert "Answered from the project FAQ" not in " ".join(c.value for c in at.chat_message[-1].caption)
    assert len(at.chat_message) == 4


def test_app_without_the_instruction_model_says_how_to_build_it(checkpoints):
    (checkpoints / INSTRUCT_EMBEDDED).unlink()
    at = app_test()
    assert at.sidebar.selectbox(key="model").value == "instruction"
    assert "gpt_instruction_finetuning.py" in at.info[0].value
    at.chat_input[0].set_value("What is the plural of cat?").run()
    assert not at.exception
    assert "is not available" in at.chat_message[-1].markdown[0].value
    at.chat_input[0].set_value("Does this need a GPU?").run()  # the FAQ still answers
    assert "laptop CPU" in at.chat_message[-1].markdown[0].value


def test_app_is_served_headless_on_localhost(checkpoints):
    port = closed_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "LLM_BOOK_CHECKPOINTS": str(checkpoints)}
    command = [sys.executable, "-m", "streamlit", "run", str(CH07 / "app.py"), "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    server = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline, health = time.monotonic() + 90, None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                    health = response.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert health == "ok", f"no answer from the app within 90 s (exit code {server.poll()})"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            assert response.status == 200 and "<html" in response.read().decode().lower()
    finally:
        server.terminate()
        try:
            server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()


def test_app_sends_a_single_turn_model_each_message_alone(checkpoints):
    model = single_turn_model(checkpoints)
    messages = ["Hello there.", "Where is the ship?"]
    at = app_test()
    at.sidebar.selectbox(key="persona").select("pirate")
    at.sidebar.slider(key="temperature").set_value(1.0)
    at.sidebar.slider(key="max_new_tokens").set_value(6)
    at.sidebar.number_input(key="seed").set_value(3)
    at.sidebar.checkbox(key="use_faq").uncheck()
    for text in messages:
        at.chat_input[0].set_value(text).run()
    assert not at.exception, at.exception
    alone = sampled_replies(model, messages, False)
    assert [m.markdown[0].value for m in at.chat_message[1::2]] == alone
    at.sidebar.button[0].click().run()  # clear the conversation
    at.sidebar.checkbox(key="force_history").check()
    for text in messages:
        at.chat_input[0].set_value(text).run()
    assert [m.markdown[0].value for m in at.chat_message[1::2]] == sampled_replies(model, messages, True) != alone
