"""A chat app for the models of Chapters 5 and 7 (and GPT-2), with sampling controls and a look inside (Chapter 7).

Start it from the repository root with one command:
    .venv/bin/streamlit run ch07/app.py          # or, in any environment with the requirements: python -m streamlit run ch07/app.py
and open the address Streamlit prints (http://localhost:8501).

In the sidebar: the model (the instruction-tuned one, the pretrained one before fine-tuning, GPT-2 when its
weights are on disk), a persona, the sampling controls (temperature, top-k, top-p, max new tokens, seed),
the next-token view (the candidates for the reply's first token, as a bar chart) and the FAQ switch: a
question about the project that matches one of ch07/faq.json closely is answered from that file, every
other message by the model. Earlier turns of the conversation go into the prompt of GPT-2; the small model,
fine-tuned on single messages, gets each message alone unless "Earlier turns for every model" is on. A model
that is not built yet is listed with the command that builds it;
the app never trains. The checkpoints are read from `checkpoints/` (or the folder in LLM_BOOK_CHECKPOINTS).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from shared import PERSONA_INSTRUCTIONS, get_device
from shared.chat import (
    chat_models,
    fit_chat_prompt,
    load_chat_model,
    load_faq,
    match_faq,
    next_token_candidates,
    stream_reply,
)

FAQ_PATH = Path(__file__).with_name("faq.json")
NO_PERSONA = "none"


@st.cache_resource(show_spinner="Loading the model ...")
def cached_model(key: str, stamp: float, device: str):
    """Model, tokenizer, prompt style and multi_turn for a choice, loaded once (`stamp`: the checkpoint's mtime,
    so a rebuilt one reloads)."""
    return load_chat_model(key, device)


@st.cache_data
def cached_faq(path: str, stamp: float) -> list[dict]:
    return load_faq(path)


def missing_tag(choice) -> str:
    if choice.available:
        return ""
    return " (not built yet)" if choice.path is not None else " (weights not on disk)"


def sidebar(choices: dict) -> dict:
    """The settings chosen in the sidebar."""
    bar = st.sidebar
    bar.header("Model")
    key = bar.selectbox("Model", list(choices), key="model",
                        format_func=lambda k: choices[k].label + missing_tag(choices[k]))
    persona = bar.selectbox("Persona", [NO_PERSONA, *sorted(PERSONA_INSTRUCTIONS)], key="persona")
    if persona != NO_PERSONA:
        bar.caption(f"System line: *{PERSONA_INSTRUCTIONS[persona]}*")
    bar.header("Sampling")
    settings = {
        "key": key,
        "system": PERSONA_INSTRUCTIONS.get(persona),
        "temperature": bar.slider("Temperature (0 = greedy)", 0.0, 2.0, 0.0, 0.05, key="temperature"),
        "top_k": bar.number_input("Top-k (0 = off)", 0, 2048, 0, key="top_k") or None,
        "top_p": bar.slider("Top-p (1 = off)", 0.05, 1.0, 1.0, 0.05, key="top_p"),
        "max_new_tokens": bar.slider("Max new tokens", 1, 200, 60, key="max_new_tokens"),
        "seed": int(bar.number_input("Seed", 0, 2**31 - 1, 123, key="seed")),
    }
    settings["top_p"] = settings["top_p"] if settings["top_p"] < 1.0 else None
    bar.header("Extras")
    settings["show_probs"] = bar.checkbox("Show next-token probabilities", key="show_probs")
    settings["use_faq"] = bar.checkbox("Answer project questions from the FAQ", value=True, key="use_faq")
    settings["force_history"] = bar.checkbox(
        "Earlier turns for every model", key="force_history",
        help="GPT-2 gets the conversation's earlier turns in its prompt. The small model was fine-tuned only on "
             "prompts at the start of its context and answers badly after earlier turns (ch07.ipynb measures "
             "it), so it gets each message alone unless this is on.")
    if bar.button("Clear the conversation"):
        st.session_state.messages = []
    return settings


def show_message(message: dict) -> None:
    with st.chat_message(message["role"]):
        st.markdown(message["content"] or "*(the model ended its reply at once)*")
        if message.get("note"):
            st.caption(message["note"])
        if message.get("candidates"):
            show_candidates(message["candidates"])


def show_candidates(candidates: list[tuple[str, float]]) -> None:
    st.caption("What the model weighed for the first token of its reply:")
    frame = pd.DataFrame({"token": [repr(text) for text, _ in candidates],
                          "probability": [p for _, p in candidates]})
    st.bar_chart(frame, x="token", y="probability", horizontal=True, sort="-probability",
                 x_label="probability", y_label="candidate token")


def model_reply(choice, settings: dict, text: str) -> dict:
    """Stream the model's reply to `text` into the page; return it as a message."""
    if not choice.available:
        content = f"The {choice.label} model is not available: {choice.how_to_get}."
        st.markdown(content)
        return {"role": "assistant", "content": content}
    stamp = choice.path.stat().st_mtime if choice.path is not None else 0.0
    model, tokenizer, style, multi_turn = cached_model(choice.key, stamp, str(get_device()))
    earlier = [(m["user"], m["content"]) for m in st.session_state.messages
               if m.get("user") and m.get("model") == choice.key and m.get("system") == settings["system"]]
    history = earlier if multi_turn or settings["force_history"] else []
    try:
        prompt_ids, dropped = fit_chat_prompt(tokenizer, text, history, settings["system"],
                                              model.cfg["context_length"], settings["max_new_tokens"], style)
    except ValueError as err:
        st.error(str(err))
        return {"role": "assistant", "content": f"({err})"}
    candidates = (next_token_candidates(model, tokenizer, prompt_ids, 10, settings["temperature"])
                  if settings["show_probs"] else None)
    reply = st.write_stream(stream_reply(model, tokenizer, prompt_ids, settings["max_new_tokens"],
                                         settings["temperature"], settings["top_k"], settings["top_p"],
                                         settings["seed"] + len(earlier)))  # the n-th reply: seed + n
    reply = reply if isinstance(reply, str) else "".join(map(str, reply))
    note = (f"The {dropped} oldest turn{'s' if dropped > 1 else ''} of this conversation no longer fit in the "
            f"model's {model.cfg['context_length']}-token context window and were left out.") if dropped else None
    if note:
        st.caption(note)
    if candidates:
        show_candidates(candidates)
    return {"role": "assistant", "content": reply.strip(), "user": text, "model": choice.key,
            "system": settings["system"], "note": note, "candidates": candidates}


def main() -> None:
    st.set_page_config(page_title="Chat with your GPT", page_icon="💬")
    st.title("Chat with the model you built")
    choices = chat_models()
    settings = sidebar(choices)
    choice = choices[settings["key"]]
    if not choice.available:
        st.info(f"**{choice.label}**: {choice.how_to_get}. The FAQ still answers questions about the project.")
    else:
        st.caption(f"{choice.label}. Ask it one of its tasks that need no input (\"Give an example of a fruit.\", "
                   f"\"Name a fish other than salmon.\"), or choose the pirate persona and type a sentence.")
    faq = cached_faq(str(FAQ_PATH), FAQ_PATH.stat().st_mtime)
    st.session_state.setdefault("messages", [])
    for message in st.session_state.messages:
        show_message(message)
    text = st.chat_input("Your message")
    if not text:
        return
    show_message({"role": "user", "content": text})
    st.session_state.messages.append({"role": "user", "content": text})
    match = match_faq(text, faq) if settings["use_faq"] else None
    with st.chat_message("assistant"):
        if match is not None:
            entry, score = match
            note = f"Answered from the project FAQ (ch07/faq.json; closest question: “{entry['questions'][0]}”, " \
                   f"similarity {score:.2f})."
            st.markdown(entry["answer"])
            st.caption(note)
            answer = {"role": "assistant", "content": entry["answer"], "note": note}
        else:
            answer = model_reply(choice, settings, text)
    st.session_state.messages.append(answer)


main()
